"""Conversation stores: the interface and its backends, chosen by a database URL.

Importing ``storage`` loads no database driver: :class:`SQLiteStore` (aiosqlite) is imported
on first use of the name, and the PostgreSQL backend only by ``storage.postgres``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storage.protocols import Store
from storage.records import Conversation, Loaded, LogEntry, TurnWrite
from storage.url import open_store

if TYPE_CHECKING:
    from storage.sqlite import SQLiteStore

__all__ = [
    "Conversation",
    "Loaded",
    "LogEntry",
    "SQLiteStore",
    "Store",
    "TurnWrite",
    "open_store",
]


def __getattr__(name: str) -> Any:
    if name == "SQLiteStore":
        from storage.sqlite import SQLiteStore

        return SQLiteStore
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
