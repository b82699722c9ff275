"""The SQLite backend: :class:`SQLiteStore`, the embedded default."""

from __future__ import annotations

from storage.sqlite.store import SQLiteStore
from storage.sqlite.tx import transaction

__all__ = ["SQLiteStore", "transaction"]
