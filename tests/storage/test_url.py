"""Choosing and configuring a backend from SWITCHBOARD_DATABASE_URL."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.errors import ConfigError
from storage.postgres import PostgresStore
from storage.sqlite import SQLiteStore
from storage.url import open_store, redact


def test_sqlite_is_chosen_and_migrates_by_default() -> None:
    store = open_store("sqlite:///sb.db")
    assert isinstance(store, SQLiteStore)
    assert (store.path, store.auto_migrate, store.synchronous) == ("sb.db", True, "NORMAL")
    absolute = open_store("sqlite:////var/lib/sb.db?synchronous=full&migrate=check")
    assert isinstance(absolute, SQLiteStore)
    assert (absolute.path, absolute.auto_migrate, absolute.synchronous) == (
        "/var/lib/sb.db", False, "FULL",
    )  # fmt: skip


def test_postgres_is_chosen_and_checks_by_default() -> None:
    store = open_store(
        "postgres://u:pw@db.internal:5433/sb?schema=tenant_a&pool_max=20&lock_timeout=2.5"
        "&application_name=switchboard"
    )
    assert isinstance(store, PostgresStore)
    assert store.auto_migrate is False
    assert (store.schema, store.pool_min, store.pool_max, store.lock_timeout_s) == (
        "tenant_a", 1, 20, 2.5,
    )  # fmt: skip
    assert store.dsn == "postgresql://u:pw@db.internal:5433/sb?application_name=switchboard"
    assert store.where == "PostgreSQL db.internal:5433/sb schema tenant_a"
    assert open_store("postgresql://h/db?migrate=auto").auto_migrate is True  # type: ignore[attr-defined]
    assert open_store("postgresql://h/db", auto_migrate=True).auto_migrate is True  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://h/db", "use sqlite:///file.db or postgresql"),
        ("sqlite://", "names no file"),
        ("sqlite:///x.db?synchronous=sometimes", "use normal or full"),
        ("sqlite:///x.db?migrate=maybe", "use auto or check"),
        ("sqlite:///x.db?journal=off", "unknown option"),
        ("postgresql://h/db?pool_max=lots", "must be a number"),
        ("postgresql://h/db?pool_min=5&pool_max=2", "1 <= min <= max"),
        ("postgresql://h/db?lock_timeout=-1", "must be positive"),
        ("postgresql://h/db?schema=Robert'); DROP", "lower-case letters"),
        (
            "postgresql://h/db?sslmode=bogus",
            "sslmode='bogus' .*: use disable, allow, prefer, require, verify-ca, verify-full$",
        ),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_store(url)


def test_errors_never_show_the_password() -> None:
    with pytest.raises(ConfigError) as info:
        open_store("mysql://admin:hunter2@h/db")
    assert "hunter2" not in str(info.value)
    assert redact("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_a_bad_sslmode_is_one_line_without_the_password() -> None:
    with pytest.raises(ConfigError) as info:
        open_store("postgresql://u:hunter2@h/db?sslmode=bogus")
    assert "hunter2" not in str(info.value) and "sslmode" in str(info.value)
    assert open_store("postgresql://h/db?sslmode=verify-full").dsn.endswith("sslmode=verify-full")  # type: ignore[attr-defined]


def test_a_unix_socket_directory_is_described_as_such() -> None:
    def where(url: str) -> str:
        store = open_store(url)
        assert isinstance(store, PostgresStore)
        return store.where

    assert where("postgresql://u:pw@/sb?host=/tmp") == "PostgreSQL sb via the socket directory /tmp"
    assert where("postgresql:///sb?host=/var/run/postgresql&port=5433") == (
        "PostgreSQL sb via the socket directory /var/run/postgresql"
    )
    assert where("postgresql://u@/sb?host=db.internal") == "PostgreSQL db.internal/sb"


def test_storage_imports_before_bot() -> None:
    """Regression: `import storage` first used to fail on a circular import."""
    done = subprocess.run(
        [sys.executable, "-c", "import storage, storage.url, storage.postgres"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
