"""The store contract suites run every test on each backend, on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import Store, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each backend (PostgreSQL: a schema of its own, dropped after)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    s = open_store(url, auto_migrate=True)
    await s.open()
    yield s
    await s.close()
