"""Conversation stores: the interface and its backends, chosen by a database URL."""

from __future__ import annotations

from storage.base import Conversation, Loaded, LogEntry, Store, TurnWrite
from storage.sqlite import SQLiteStore
from storage.url import open_store

__all__ = [
    "Conversation",
    "Loaded",
    "LogEntry",
    "SQLiteStore",
    "Store",
    "TurnWrite",
    "open_store",
]
