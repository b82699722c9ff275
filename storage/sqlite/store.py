"""SQLite backend on aiosqlite: WAL, a versioned schema, one thread hop per store call.

aiosqlite runs each statement as a separate hop to its worker thread (65–106 µs each, measured
in issue 2), and a write transaction held open across awaits serialises every other writer.
So each store call here is one plain function run on the connection's own thread with
``_run``: a whole transaction (BEGIN … COMMIT or ROLLBACK) completes there, even when the
awaiting request is cancelled, and the connection is never left inside a transaction.

The two reads of every turn (``load`` and ``contact``) skip the hop: they run on the event
loop's thread on a second, read-only connection (``_read``). A WAL reader never waits for a
writer, a point lookup takes 10–30 µs, and the hop costs 30–50 µs of CPU and far more
latency under load (issue 7, docs/benchmarks.md). Writes keep the hop: a commit may wait for
another process's write lock or for fsync, which must not stall the loop.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

try:
    import fcntl
except ImportError:  # Windows: commits fall back to SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from storage.admin_queries import record_audit
from storage.backend import Backend
from storage.dialect import SQLITE
from storage.errors import ConflictError, StoreError
from storage.group import GroupCommit
from storage.migrations import Migration
from storage.programs import Program
from storage.records import Contact, Loaded, OutboundMessage, Timer, TurnWrite
from storage.sqlite import outbox, turns
from storage.sqlite.tx import drive, transaction

__all__ = ["SQLiteStore"]

R = TypeVar("R")


class SQLiteStore(Backend):
    """The embedded default store. ``path`` is a file, or ``:memory:`` for a private one."""

    dialect = SQLITE

    def __init__(
        self,
        path: str | Path,
        *,
        auto_migrate: bool = True,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = 30_000,
        min_free_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.path = str(path)
        self.min_free_bytes = min_free_bytes  # less free space on its disk: not ready
        self.auto_migrate = auto_migrate
        self.synchronous = synchronous
        self.busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._writer_lock: int | None = None  # fd of "<path>-lock"
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file opened
        self._group: GroupCommit[TurnWrite, str | None] = GroupCommit(self._commit_many)

    @property
    def where(self) -> str:
        return f"SQLite {self.path}"

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn(conn, *args)`` on the connection's thread in one hop."""
        if self._db is None:
            raise StoreError("the SQLite store is not open (call `await store.open()` first)")
        problems = self.identity_problems()
        if problems:  # never answer 200 for a turn written into an orphaned file
            raise StoreError(problems[0])
        db = self._db
        try:
            result: R = await db._execute(lambda: fn(db._conn, *args))  # type: ignore[no-untyped-call]
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc
        return result

    async def _read(self, fn: Callable[..., R], *args: Any) -> R:
        """Run the read-only ``fn(conn, *args)`` here, on the reader (``_run`` without one)."""
        if self._reader is None:
            return await self._run(fn, *args)
        try:
            return fn(self._reader, *args)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    async def run(
        self, program: Program[R], *, atomic: bool = True, statement_timeout_s: float | None = None
    ) -> R:
        work = partial(drive, program=program)
        return await (self._run(transaction, work) if atomic else self._run(work))

    # -- connections and the schema -----------------------------------------------------

    async def connect(self) -> None:
        if self._db is None:
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            self._identity = None
            await self._run(self._configure)
            if self.path != ":memory:":
                stat = os.stat(self.path)
                self._identity = (stat.st_dev, stat.st_ino)
        if self._reader is None and self.path != ":memory:":  # ":memory:" is per connection
            reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            reader.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            reader.execute("PRAGMA query_only = ON")
            self._reader = reader
        if self._writer_lock is None and self.path != ":memory:" and fcntl is not None:
            self._writer_lock = os.open(self.path + "-lock", os.O_RDWR | os.O_CREAT, 0o644)

    def _configure(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        self._wal(conn)
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")

    def _wal(self, conn: sqlite3.Connection) -> None:
        # Switching to WAL takes an exclusive lock that the busy handler does not wait for:
        # several workers opening a new file at once get "database is locked". The mode is
        # persistent, so only switch when needed, and retry briefly when another opener wins.
        if self.path == ":memory:":
            return
        for attempt in range(50):
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                    return
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(0.01 + 0.002 * attempt)
        raise StoreError(f"could not switch {self.path} to WAL: it stays locked")

    def identity_problems(self) -> list[str]:
        """A message if the file opened was deleted or replaced since (checked by inode)."""
        if self._identity is None:
            return []
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return [f"the SQLite file {self.path} was deleted while open: restart to reopen it"]
        except OSError as exc:
            return [f"the SQLite file {self.path} cannot be checked: {exc}"]
        if (stat.st_dev, stat.st_ino) != self._identity:
            return [f"the SQLite file {self.path} was replaced while open: restart to reopen it"]
        return []

    async def readiness(self) -> list[str]:
        """The backend's checks, and whether the file's disk has ``min_free_bytes`` left
        (a full disk may still take the one-page health write while turns fail)."""
        return [*await super().readiness(), *self._space_problems()]

    def _space_problems(self) -> list[str]:
        if self.path == ":memory:":
            return []
        try:
            fs = os.statvfs(os.path.dirname(os.path.abspath(self.path)))
        except OSError as exc:
            return [f"cannot check the disk of {self.path}: {exc}"]
        free = fs.f_bavail * fs.f_frsize
        if free >= self.min_free_bytes:
            return []
        return [f"the disk holding {self.path} has {free // 1024} KiB free, "
                f"less than {self.min_free_bytes // 1024} KiB"]  # fmt: skip

    async def disconnect(self) -> None:
        if self._writer_lock is not None:
            fd, self._writer_lock = self._writer_lock, None
            os.close(fd)
        if self._reader is not None:
            reader, self._reader = self._reader, None
            reader.close()
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    @staticmethod
    def _applied(conn: sqlite3.Connection) -> set[int]:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        return {row[0] for row in conn.execute("SELECT version FROM schema_version")}

    async def applied_versions(self) -> set[int]:
        return await self._run(self._applied)

    async def apply_migration(self, step: Migration) -> bool:
        # The version is read inside the write lock: processes sharing the file may start
        # (and migrate) at the same moment.
        return await self._run(transaction, partial(self._apply, step=step))

    @classmethod
    def _apply(cls, conn: sqlite3.Connection, step: Migration) -> bool:
        if step.version in cls._applied(conn):
            return False
        for statement in step.sql.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?)", (step.version,))
        return True

    # -- turns --------------------------------------------------------------------------

    _load = staticmethod(turns.load)

    async def load(self, key: str, idempotency_keys: Sequence[str]) -> Loaded:
        return await self._read(self._load, key, tuple(idempotency_keys))

    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        return await self._read(turns.read_contact, scope, person, window)

    async def commit(self, write: TurnWrite) -> str | None:
        return await self._group.submit(write)  # storage/group.py: one transaction per batch

    async def _commit_many(self, writes: list[TurnWrite]) -> list[str | BaseException | None]:
        return await self._run(
            transaction, partial(self._commit_each, writes=writes, path=self.path)
        )

    @classmethod
    def _commit_each(
        cls, conn: sqlite3.Connection, writes: list[TurnWrite], path: str
    ) -> list[str | BaseException | None]:
        """Each write under its own SAVEPOINT: a duplicate or a conflict undoes only its own."""
        outcomes: list[str | BaseException | None] = []
        for write in writes:
            conn.execute("SAVEPOINT turn")
            try:
                cls._commit(conn, write)
                outcomes.append(None)
            except (turns.Duplicate, ConflictError, sqlite3.Error) as exc:
                conn.execute("ROLLBACK TO turn")
                outcomes.append(_outcome(exc, path))
            conn.execute("RELEASE turn")
        return outcomes

    @staticmethod
    def _commit(conn: sqlite3.Connection, write: TurnWrite) -> None:
        turns.write_turn(conn, write)
        outbox.write_timers_and_outbox(conn, write)
        if write.audit is not None:  # an operator's action: audited in its own transaction
            drive(conn, record_audit(SQLITE, write.audit))

    # -- the set-based outbox writes ----------------------------------------------------

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> int:
        return await self._run(transaction, partial(outbox.enqueue, messages=messages))

    async def claim_outbox(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboundMessage]:
        claim = partial(outbox.claim_outbox, owner=owner, now=now, lease_until=lease_until)
        return await self._run(transaction, partial(claim, limit=limit))

    async def claim_timers(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Timer]:
        claim = partial(outbox.claim_timers, owner=owner, now=now, lease_until=lease_until)
        return await self._run(transaction, partial(claim, limit=limit))


def _outcome(exc: Exception, path: str) -> str | BaseException:
    if isinstance(exc, turns.Duplicate):
        return exc.response
    if isinstance(exc, sqlite3.Error):
        return StoreError(f"SQLite error on {path}: {exc}")
    return exc
