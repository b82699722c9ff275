"""`switchboard db upgrade` / `db status`, and `serve` refusing a schema that is behind."""

from __future__ import annotations

import pytest

from bot.cli import main
from storage.migrations import migrations


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(name))


def test_status_upgrade_status(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    steps = migrations("sqlite" if url.startswith("sqlite") else "postgres")
    latest = steps[-1].version
    if url.startswith("sqlite"):  # status only reads: it does not create the file
        assert main(["db", "status", "--database", url]) == 2
        assert "no database at" in capsys.readouterr().err
    else:  # the server's database exists, without our schema
        assert main(["db", "status", "--database", url]) == 1
        out = capsys.readouterr().out
        assert f"schema version 0, this code's is {latest}" in out and "pending: 0001_core" in out

    assert main(["db", "upgrade", "--database", url]) == 0
    applied = ", ".join(str(step.version) for step in steps)
    assert f"applied {applied}; now at {latest}" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database", url]) == 0
    assert f"already at schema version {latest}" in capsys.readouterr().out

    assert main(["db", "status", "--database", url]) == 0
    assert "pending" not in capsys.readouterr().out


def test_db_reads_the_url_from_the_environment(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", sqlite_url)
    assert main(["db", "upgrade"]) == 0
    assert sqlite_url in capsys.readouterr().out


def test_db_errors_are_one_line_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "status", "--database", "postgresql://u:pw-123@127.0.0.1:1/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("switchboard: cannot connect to PostgreSQL 127.0.0.1:1/x")
    assert "pw-123" not in err and "Traceback" not in err
    assert main(["db", "upgrade", "--database", "mysql://h/db"]) == 2
    assert "use sqlite:///file.db or postgresql" in capsys.readouterr().err


def test_serve_refuses_a_postgres_schema_that_is_behind(
    postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret-token")
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", postgres_schema_url)
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    lacking = ", ".join(f"{step.version:04d}" for step in migrations("postgres"))
    assert f"schema version 0 and lacks {lacking} that this code needs" in err
    assert "run `switchboard db upgrade`" in err
