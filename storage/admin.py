"""Schema administration behind ``switchboard db upgrade`` and ``switchboard db status``."""

from __future__ import annotations

from dataclasses import dataclass

from storage.migrations import Migration, migrations
from storage.protocols import AdminStore
from storage.url import open_store

__all__ = ["SchemaStatus", "schema_status", "upgrade"]


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database's schema stands against this code's migrations."""

    backend: str
    applied: frozenset[int]
    latest: int
    pending: tuple[Migration, ...]

    @property
    def version(self) -> int:
        """The highest migration applied (0 for none)."""
        return max(self.applied, default=0)

    @property
    def unknown(self) -> list[int]:
        """Migrations applied by a newer Switchboard than this one."""
        known = {m.version for m in migrations(self.backend)}
        return sorted(self.applied - known)

    @property
    def current(self) -> bool:
        """Whether the database has exactly this code's migrations."""
        return not self.pending and not self.unknown


def _backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:") else "postgres"


async def _connected(url: str) -> AdminStore:
    store: AdminStore = open_store(url, auto_migrate=False)
    await store.connect()
    return store


async def schema_status(url: str) -> SchemaStatus:
    """The schema version of the database at ``url`` and the migrations it lacks."""
    store = await _connected(url)
    try:
        applied = frozenset(await store.applied_versions())
    finally:
        await store.close()
    steps = migrations(_backend(url))
    latest = steps[-1].version if steps else 0
    pending = tuple(step for step in steps if step.version not in applied)
    return SchemaStatus(_backend(url), applied, latest, pending)


async def upgrade(url: str) -> list[int]:
    """Apply the migrations the database at ``url`` lacks; returns the versions applied.

    Safe to run from several processes at once: each step is applied once.
    """
    store = await _connected(url)
    try:
        return await store.migrate()
    finally:
        await store.close()
