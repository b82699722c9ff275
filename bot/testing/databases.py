"""pytest fixtures for real databases (entry point ``pytest11: switchboard-databases``).

PostgreSQL is opted in by ``SWITCHBOARD_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``, used when it answers). Where no server
answers, PostgreSQL tests are skipped with the reason, unless ``SWITCHBOARD_REQUIRE_POSTGRES=1``
(set by ``.ci/run``), which turns the skip into a failure.

Every test gets its own schema (``?schema=sb_test_…``), dropped afterwards, so several test
runs can share one database at once.

- ``postgres_url``: the server's URL (session-wide; skips or fails as above).
- ``postgres_schema_url``: a URL whose tables live in a fresh schema, dropped after the test.
- ``sqlite_url``: a URL for a fresh SQLite file in the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "drop_schema",
    "drop_schema_async",
    "postgres_schema_url",
    "postgres_url",
    "reachable_postgres",
    "sqlite_url",
    "with_options",
]

T = TypeVar("T")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end on a loop of its own, even from inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def with_options(url: str, **options: str) -> str:
    """``url`` with query ``options`` added (or replaced)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | options
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _probe(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=3)
    except Exception as exc:  # any failure to connect is a reason to skip
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    await conn.close()
    return None


def reachable_postgres() -> tuple[str, str | None]:
    """The configured URL, and why it cannot be used (``None`` when it answers)."""
    url = os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return url, "asyncpg is not installed (pip install 'switchboard[postgres]')"
    return url, _run(_probe(url))


async def drop_schema_async(url: str, schema: str) -> None:
    """Drop ``schema`` and everything in it (from a running event loop)."""
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def drop_schema(url: str, schema: str) -> None:
    """Drop ``schema`` and everything in it."""
    _run(drop_schema_async(url, schema))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL server's URL; skips (or fails, when required) if it is down."""
    url, problem = reachable_postgres()
    if problem is None:
        return url
    reason = (
        f"PostgreSQL is not reachable at {url} ({problem}); "
        "set SWITCHBOARD_TEST_POSTGRES_URL to a server you can use"
    )
    if os.environ.get("SWITCHBOARD_REQUIRE_POSTGRES", "") in {"1", "true", "yes"}:
        pytest.fail(f"SWITCHBOARD_REQUIRE_POSTGRES is set but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL into a fresh schema of the test database, dropped after the test."""
    schema = f"sb_test_{uuid.uuid4().hex[:16]}"
    try:
        yield with_options(postgres_url, schema=schema)
    finally:
        drop_schema(postgres_url, schema)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'switchboard.db'}"
