"""The PostgreSQL backend (asyncpg, the ``postgres`` extra): :class:`PostgresStore`."""

from __future__ import annotations

from storage.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
