"""SQLite backend on aiosqlite: WAL, a versioned schema, one thread hop per store call.

aiosqlite runs each statement as a separate hop to its worker thread (65–106 µs each, measured
in issue 2), and a write transaction held open across awaits serialises every other writer.
So each store call here is one plain function run on the connection's own thread with
``_run``: a whole transaction (BEGIN … COMMIT or ROLLBACK) completes there, even when the
awaiting request is cancelled, and the connection is never left inside a transaction.

The two reads of every turn (``load`` and ``contact``) skip the hop: they run on the event
loop's thread on a second, read-only connection (``_read``). A WAL reader never waits for a
writer, a point lookup takes 10–30 µs, and the hop costs 30–50 µs of CPU and far more
latency under load (issue 7, docs/benchmarks.md). A turn's commit skips it too when it can
take the write lock at once and needs no fsync (``storage/sqlite/writer.py``, issue 18); one
that would wait for another writer's lock, or for fsync (``synchronous=FULL``), keeps the hop
and goes through group commit. Other writes keep the hop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.admin_queries import record_audit
from storage.backend import Backend
from storage.dialect import SQLITE
from storage.errors import ConflictError, StoreError
from storage.group import GroupCommit
from storage.migrations import Migration
from storage.programs import Program
from storage.records import Contact, Loaded, OutboundMessage, Timer, TurnWrite
from storage.sqlite import outbox, turns
from storage.sqlite.files import check_openable
from storage.sqlite.tx import drive, transaction
from storage.sqlite.writer import (
    CHECKPOINT_EVERY,
    MISSED,
    Checkpointer,
    CommitLock,
    InFlight,
    LoopWriter,
    Missed,
)

__all__ = ["SQLiteStore"]

R = TypeVar("R")
_TIMERLESS_KEPT = 4_096  # loaded without timers and not yet committed (a turn ignored,
# or answered as a duplicate, leaves its entry: the memo starts over when this many are kept)
log = logging.getLogger("switchboard.storage")


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
        self._commit_lock: CommitLock | None = None  # "<path>-lock", taken on the thread
        self._here: LoopWriter | None = None  # commits on the loop's thread (writer.py)
        self._commits = 0  # since the last checkpoint
        self._checkpointer: Checkpointer | None = None  # with _here: turns skip autocheckpoint
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file opened
        self._group: GroupCommit[TurnWrite, str | None] = GroupCommit(self._commit_many)
        self._here_group: GroupCommit[TurnWrite, str | None] = GroupCommit(self._commit_here)
        self._in_flight = InFlight()
        # conversation key -> a version it was read at without timers (outbox.TIMERLESS)
        self._timerless: dict[str, int] = {}
        # conversation key -> what a turn under way read of it (turns.READ)
        self._loaded: dict[str, turns.Read] = {}

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
        """Run the read-only ``fn(conn, *args)`` here, on the loop's connection (the one turns
        commit on, else a read-only one), or with ``_run`` without one. The loop's write
        connection never waits (``busy_timeout`` 0): a read it cannot start at once (WAL
        recovery, a reset of the WAL under way) is handed to the connection's thread."""
        reader = self._reader
        if reader is None:
            return await self._run(fn, *args)
        try:
            return fn(reader, *args)
        except sqlite3.OperationalError as exc:
            if self._here is None or exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise StoreError(f"SQLite error on {self.path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc
        return await self._run(fn, *args)

    async def run(
        self, program: Program[R], *, atomic: bool = True, statement_timeout_s: float | None = None
    ) -> R:
        work = partial(drive, program=program)
        return await (self._run(transaction, work) if atomic else self._run(work))

    # -- connections and the schema -----------------------------------------------------

    async def connect(self) -> None:
        if self._db is None:
            check_openable(self.path)
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            self._identity = None
            await self._run(self._configure)
            if self.path != ":memory:":
                stat = os.stat(self.path)
                self._identity = (stat.st_dev, stat.st_ino)
        if self._commit_lock is None:
            self._commit_lock = CommitLock(self.path)
        if self._here is None and self._commits_here:
            self._here = LoopWriter(self.path, self.synchronous)
            self._checkpointer = Checkpointer(self.path, self.synchronous)
            # The turn's reads go to the same connection: its page cache stays valid across
            # its own commits, where a second connection's is dropped after every commit it
            # did not make (a point lookup: 20-26 µs there, a few here).
            self._reader = self._here.conn
        if self._reader is None and self.path != ":memory:":  # ":memory:" is per connection
            reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            reader.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            reader.execute("PRAGMA query_only = ON")
            self._reader = reader

    @property
    def _commits_here(self) -> bool:
        """Whether turns commit on the loop's thread: a file (":memory:" is per connection)
        whose commits never fsync (NORMAL or OFF; FULL and EXTRA sync the WAL each time)."""
        return self.path != ":memory:" and self.synchronous.upper() in ("NORMAL", "OFF")

    def _configure(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        self._wal(conn)
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        if self._commits_here:  # checkpoints run apart, on a thread (_count_commits)
            conn.execute("PRAGMA wal_autocheckpoint = 0")

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
        if self._checkpointer is not None:
            checkpointer, self._checkpointer = self._checkpointer, None
            await asyncio.to_thread(checkpointer.close)  # waits for one under way
        reader, self._reader = self._reader, None
        if self._here is not None:
            here, self._here = self._here, None
            here.close()
        elif reader is not None:
            reader.close()
        if self._commit_lock is not None:
            lock, self._commit_lock = self._commit_lock, None
            lock.close()
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
        loaded, timerless = await self._read(self._load, key, tuple(idempotency_keys))
        if timerless:  # a fact for as long as the conversation stays at that version
            known = self._timerless
            if len(known) >= _TIMERLESS_KEPT:
                known.clear()
            known[key] = loaded.conversation.version if loaded.conversation else 0
        found = loaded.conversation
        if found is not None:  # what its commit may leave out of the UPDATE
            read = self._loaded
            if len(read) >= _TIMERLESS_KEPT:
                read.clear()
            read[key] = (found.version, found.flow, found.state, found.closed)
        return loaded

    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        return await self._read(turns.read_contact, scope, person, window)

    async def commit(self, write: TurnWrite) -> str | None:
        if self._here is None:
            return await self._group.submit(write)  # storage/group.py: one transaction per batch
        problems = self.identity_problems()
        if problems:  # never answer 200 for a turn written into an orphaned file
            raise StoreError(problems[0])
        if self._in_flight.count > 1 or self._here_group.busy:
            # Other turns are under way: those that reach their commit in the same pass of
            # the event loop share one transaction on the loop's thread (group commit).
            return await self._here_group.submit(write)
        (outcome,) = await self._commit_here([write])  # alone: at once, no pass of the loop
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Nothing held beyond the engine's lock (see :meth:`Backend.hold`); counts the turns
        under way, so that a lone turn's commit does not wait for company."""
        return self._in_flight

    async def _commit_here(self, writes: list[TurnWrite]) -> list[str | BaseException | None]:
        """``writes`` on the loop's thread, or on the connection's when that would wait."""
        here = self._here
        if here is None:
            raise StoreError("the SQLite store is not open (call `await store.open()` first)")
        checkpointer = self._checkpointer
        if checkpointer is not None and checkpointer.running:
            # A checkpoint waits for the flock or holds it: queue behind it on the thread. Taking
            # the flock again on the loop between back-to-back commits starved it (the WAL grew).
            return await asyncio.gather(*map(self._group.submit, writes), return_exceptions=True)
        try:
            if len(writes) == 1:
                outcome = here.run(partial(self._commit_one, write=writes[0]))
                outcomes: list[str | BaseException | None] | None = (
                    None if outcome is MISSED else [None]
                )
            else:
                found = here.run(partial(self._commit_each, writes=writes, path=self.path))
                outcomes = None if isinstance(found, Missed) else found
        except (turns.Duplicate, ConflictError, sqlite3.Error) as exc:  # the whole batch
            outcomes = [_outcome(exc, self.path)] * len(writes)
        if outcomes is None:  # the write lock is held elsewhere: wait for it on the thread
            return await asyncio.gather(*map(self._group.submit, writes), return_exceptions=True)
        self._count_commits()
        return outcomes

    async def _commit_many(self, writes: list[TurnWrite]) -> list[str | BaseException | None]:
        work = partial(self._commit_each, writes=writes, path=self.path)
        outcomes: list[str | BaseException | None]
        outcomes = await self._run(self._locked, partial(transaction, work=work))
        self._count_commits()
        return outcomes

    def _locked(self, conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], R]) -> R:
        """``work(conn)`` under the commit flock, waited for on the connection's thread."""
        lock = self._commit_lock
        if lock is None:
            return work(conn)
        lock.take()
        try:
            return work(conn)
        finally:
            lock.release()

    def _count_commits(self) -> None:
        """Every :data:`CHECKPOINT_EVERY` commits, a checkpoint on a thread of its own
        (``wal_autocheckpoint`` is off where turns commit on the loop's thread)."""
        self._commits += 1
        checkpointer = self._checkpointer
        if checkpointer is None or self._commits < CHECKPOINT_EVERY:
            return
        if checkpointer.start():  # else one is under way: try again at the next commit
            self._commits = 0

    def _commit_each(
        self, conn: sqlite3.Connection, writes: list[TurnWrite], path: str
    ) -> list[str | BaseException | None]:
        """Each write under its own SAVEPOINT: a duplicate or a conflict undoes only its own."""
        outcomes: list[str | BaseException | None] = []
        known = outbox.TIMERLESS.set(self._timerless)  # this thread's context
        read = turns.READ.set(self._loaded)
        try:
            for write in writes:
                conn.execute("SAVEPOINT turn")
                try:
                    self._commit(conn, write)
                    outcomes.append(None)
                except (turns.Duplicate, ConflictError, sqlite3.Error) as exc:
                    conn.execute("ROLLBACK TO turn")
                    outcomes.append(_outcome(exc, path))
                finally:
                    self._timerless.pop(write.conversation.key, None)  # used: see _commit_one
                    self._loaded.pop(write.conversation.key, None)
                conn.execute("RELEASE turn")
        finally:
            outbox.TIMERLESS.reset(known)
            turns.READ.reset(read)
        return outcomes

    def _commit_one(self, conn: sqlite3.Connection, write: TurnWrite) -> None:
        """:meth:`_commit` knowing the conversations read without timers (on the loop)."""
        known = outbox.TIMERLESS.set(self._timerless)
        read = turns.READ.set(self._loaded)
        try:
            self._commit(conn, write)
        finally:
            outbox.TIMERLESS.reset(known)
            turns.READ.reset(read)
            # The fact was about the version this turn read: once its commit ran (or rolled
            # back, and a retry loads again) it is spent, so the memo holds only the turns
            # under way, not every caller seen (the memory bench's RSS per caller).
            self._timerless.pop(write.conversation.key, None)
            self._loaded.pop(write.conversation.key, None)

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
