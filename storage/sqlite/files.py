"""Whether SQLite can open a database path, asked before a store starts its threads."""

from __future__ import annotations

import os
import sqlite3

from storage.errors import StoreError

__all__ = ["check_openable"]


def check_openable(path: str) -> None:
    """Open ``path`` once on this thread: a path SQLite cannot open is a StoreError that says
    what to do, raised before aiosqlite starts its thread (whose clean-up after a failed
    connect raced the event loop's closing and printed a traceback). Creates the file, as the
    store's own connect would."""
    if path == ":memory:":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise StoreError(
            f"cannot open the SQLite file {path}: the directory {folder} does not exist "
            "(create it, or point the database URL at another path)"
        )
    try:
        sqlite3.connect(path).close()
    except sqlite3.Error as exc:
        raise StoreError(
            f"cannot open the SQLite file {path}: {exc} (check that the path names a file, "
            "and that this user may read and write it and its directory)"
        ) from exc
