"""The one way SQLite writes here: a whole transaction run on the connection's thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from storage.programs import Program

__all__ = ["drive", "transaction"]

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


def drive(conn: sqlite3.Connection, program: Program[R]) -> R:
    """Run each statement ``program`` yields on ``conn`` and send it the rows; its result."""
    try:
        sql, args = next(program)
        while True:
            sql, args = program.send(conn.execute(sql, args).fetchall())
    except StopIteration as stop:
        result: R = stop.value
        return result
