"""Where a turn's commit runs: on the event loop's thread when the write lock is free at once,
else on the connection's thread, queued behind the other writers.

In WAL mode with ``synchronous=NORMAL`` a commit appends to the WAL and syncs nothing: a short
turn transaction (BEGIN IMMEDIATE, a few upserts, COMMIT) costs 10–20 µs of CPU. Handing it to
aiosqlite's thread cost far more than the work (a queue, a future, a wake-up of the loop
through its self-pipe, the GIL passed twice; issue 18), so :class:`LoopWriter` runs it where
the turn already is, on a connection of its own, under two rules that keep the loop from ever
waiting:

- it **never waits for a lock**: the commit flock is tried without blocking and the
  connection's ``busy_timeout`` is 0, so when another writer (another process, or this
  process's connection thread) holds either, the commit is handed to the thread, which waits;
- it **never syncs or checkpoints**: it is used only with ``synchronous`` NORMAL or OFF, and
  ``wal_autocheckpoint`` is 0 on both write connections; every :data:`CHECKPOINT_EVERY`
  commits the store starts a :class:`Checkpointer` instead, on a thread of its own.

:class:`CommitLock` is the flock on ``<db>-lock`` that every turn commit holds from BEGIN to
COMMIT, in every process that shares the file: a commit that must wait blocks on it in the
connection's thread and the kernel wakes it the moment the holder is done, where SQLite's busy
handler would sleep 1, 2, 5, 10 ms… (issue 7's measurement). SQLite's own locking still guards
the data; writers that do not take the flock (other writes, another program) stay correct.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final, TypeVar

try:
    import fcntl
except ImportError:  # Windows: no flock; SQLite's busy handler alone queues the writers
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CHECKPOINT_EVERY",
    "MISSED",
    "Checkpointer",
    "CommitLock",
    "InFlight",
    "LoopWriter",
    "Missed",
]

R = TypeVar("R")

CHECKPOINT_EVERY: Final = 100  # commits between two checkpoints: ~1,000 WAL pages, as SQLite
log = logging.getLogger("switchboard.storage")


class Missed:
    """The write lock was taken: hand the commit to the connection's thread."""


MISSED: Final = Missed()


class InFlight:
    """How many turns are under way (``Store.hold``): a lone turn commits at once; with others
    under way, the commit waits for the end of the loop's current pass, so the turns that
    reach their commit together share one transaction. One object serves every turn."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    async def __aenter__(self) -> None:
        self.count += 1

    async def __aexit__(self, *exc: object) -> None:
        self.count -= 1


class CommitLock:
    """An exclusive flock on ``<path>-lock`` (one open file each: the loop's and the thread's
    locks exclude each other too). Without ``fcntl`` or a file, taking it always succeeds."""

    def __init__(self, path: str) -> None:
        self._fd: int | None = None
        if fcntl is not None and path != ":memory:":
            self._fd = os.open(path + "-lock", os.O_RDWR | os.O_CREAT, 0o644)

    def try_take(self) -> bool:
        if self._fd is None:
            return True
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def take(self) -> None:
        """Wait for the lock (on the connection's thread, never on the loop's)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class LoopWriter:
    """A write connection used only on the event loop's thread, for turn commits that can take
    the write lock at once (see the module docstring)."""

    def __init__(self, path: str, synchronous: str) -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 0")  # never wait on the loop: BUSY hands it over
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        self.conn = conn
        self.lock = CommitLock(path)

    def run(self, work: Callable[[sqlite3.Connection], R]) -> R | Missed:
        """``work(conn)`` in BEGIN IMMEDIATE … COMMIT, or :data:`MISSED` when the lock is
        held elsewhere (nothing was written). What ``work`` raises rolls it back."""
        if not self.lock.try_take():
            return MISSED
        conn = self.conn
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                    return MISSED
                raise
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            self.lock.release()
        return result

    def close(self) -> None:
        self.lock.close()
        self.conn.close()


class Checkpointer:
    """Copies the WAL back into the database on a thread and a connection of its own, under
    the commit flock: no turn commit appends meanwhile (they wait on a thread, or hand over),
    so the checkpoint catches up and the next commit starts the WAL again from its beginning.

    :meth:`start` hands the checkpoint to the thread at once. A checkpoint that needed a pass
    of the event loop to begin never began while turns kept the loop busy: the WAL then grew
    without bound, and every commit appended to new file space, which costs the kernel more
    than twice an overwrite of pages already there (issue 18: 152 MB of WAL after 3,000 turns
    of the engine bench; its commits spent a third of their CPU in ``pwrite``).

    PASSIVE racing a stream of commits never caught up (the WAL only grew); RESTART would hold
    every writer while a long reader (`switchboard stats` on a big file) finishes. PASSIVE
    never waits: a reader's old snapshot only delays the restart to a later checkpoint, as
    with SQLite's own automatic checkpoints.
    """

    def __init__(self, path: str, synchronous: str) -> None:
        self.path = path
        # opened here, with the store's other connections: the file they opened, not one
        # that replaced it since (SQLiteStore.identity_problems)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._conn: sqlite3.Connection | None = conn
        self._lock = CommitLock(path)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        self.last: Future[None] | None = None  # the checkpoint last handed to the thread
        # set here, cleared by the thread when done: read on every commit, so a plain flag
        self.running = False

    def start(self) -> bool:
        """Begin a checkpoint on the thread unless one is under way; whether one began."""
        if self.running:
            return False
        self.running = True
        self.last = self._pool.submit(self._checkpoint)
        return True

    def _checkpoint(self) -> None:
        try:
            conn = self._conn
            if conn is None:  # closed meanwhile
                return
            self._lock.take()
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                self._lock.release()
        except (sqlite3.Error, OSError) as exc:  # the next one tries again; the WAL grows
            log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
        finally:
            self.running = False

    def close(self) -> None:
        """Wait for a checkpoint under way, then let the thread and the connection go."""
        self._pool.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._lock.close()
