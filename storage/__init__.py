"""Conversation stores: the interface and its backends, chosen by a database URL."""

from __future__ import annotations

from storage.base import Store
from storage.records import Conversation, Loaded, LogEntry, TurnWrite
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
