"""The one way SQLite writes here: a whole transaction run on the connection's thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

__all__ = ["transaction"]

R = TypeVar("R")


def transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], R]) -> R:
    """Run ``work`` inside BEGIN IMMEDIATE … COMMIT on this thread; roll back if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result
