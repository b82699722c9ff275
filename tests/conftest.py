"""Shared fixtures: the example app in process, with a fake clock and a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.testing import Harness
from flows import build
from storage import Store, open_store


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with Harness(build) as started:
        yield started


# Each backend, on a fresh database: the store contract suites and any test that must hold on
# SQLite and PostgreSQL use these (PostgreSQL: a schema of its own, dropped after).
@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each backend."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    """The store for :func:`url`, migrated and open."""
    s = open_store(url, auto_migrate=True)
    await s.open()
    yield s
    await s.close()
