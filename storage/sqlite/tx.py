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
    """Run each statement ``program`` yields on ``conn`` and send it the rows; its result.

    A statement without result columns answers one empty row per row it changed (SQLite's
    ``RETURNING`` would cost more: see :attr:`storage.dialect.Dialect.changed`).
    """
    try:
        sql, args = next(program)
        while True:
            cur = conn.execute(sql, args)
            rows = cur.fetchall() if cur.description else [()] * max(cur.rowcount, 0)
            sql, args = program.send(rows)
    except StopIteration as stop:
        result: R = stop.value
        return result
