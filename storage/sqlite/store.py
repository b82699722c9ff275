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

import json
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

from storage.base import Store
from storage.errors import ConflictError, SchemaError, StoreError
from storage.group import GroupCommit
from storage.migrations import Migration, migrations, schema_problem
from storage.records import Conversation, Loaded, LogEntry, TurnWrite
from storage.sqlite_consent import SQLiteConsent, insert_consent, read_contact
from storage.sqlite_outbox import SQLiteOutbox, write_timers_and_outbox
from storage.sqlite_tx import transaction

__all__ = ["SQLiteStore", "transaction"]

R = TypeVar("R")

_CONVERSATION_COLUMNS = (
    "key, flow, state, data, version, closed, channel, ours, theirs, created_at, updated_at"
)
_LOG_COLUMNS = (
    "conversation, direction, kind, body, at, sid, channel, media, state_before, state_after, meta"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _conversation(row: sqlite3.Row | tuple[Any, ...]) -> Conversation:
    key, flow, state, data, version, closed, channel, ours, theirs, created, updated = row
    return Conversation(
        key=key, flow=flow, state=state, data=json.loads(data), version=version,
        closed=bool(closed), channel=channel, ours=ours, theirs=theirs,
        created_at=datetime.fromisoformat(created), updated_at=datetime.fromisoformat(updated),
    )  # fmt: skip


def _log_row(entry: LogEntry) -> tuple[Any, ...]:
    return (
        entry.conversation, entry.direction, entry.kind, entry.body, entry.at.isoformat(),
        entry.sid, entry.channel, _dumps(list(entry.media)), entry.state_before,
        entry.state_after, _dumps(entry.meta),
    )  # fmt: skip


def _log_entry(row: tuple[Any, ...]) -> LogEntry:
    conv, direction, kind, body, at, sid, channel, media, before, after, meta = row
    return LogEntry(
        conversation=conv, direction=direction, kind=kind, body=body,
        at=datetime.fromisoformat(at), sid=sid, channel=channel, media=tuple(json.loads(media)),
        state_before=before, state_after=after, meta=json.loads(meta),
    )  # fmt: skip


class SQLiteStore(SQLiteOutbox, SQLiteConsent, Store):
    """The embedded default store. ``path`` is a file, or ``:memory:`` for a private one."""

    def __init__(
        self,
        path: str | Path,
        *,
        auto_migrate: bool = True,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = 30_000,
    ) -> None:
        self.path = str(path)
        self.auto_migrate = auto_migrate
        self.synchronous = synchronous
        self.busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._writer_lock: int | None = None  # fd of "<path>-lock", see _commit_many
        self._group: GroupCommit[TurnWrite, str | None] = GroupCommit(self._commit_many)

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn(conn, *args)`` on the connection's thread in one hop."""
        if self._db is None:
            raise StoreError("the SQLite store is not open (call `await store.open()` first)")
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

    async def connect(self) -> None:
        """Open the file without touching the schema (``open`` also migrates or checks it)."""
        if self._db is None:
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._run(self._configure)
        if self._reader is None and self.path != ":memory:":  # ":memory:" is per connection
            reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            reader.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            reader.execute("PRAGMA query_only = ON")
            self._reader = reader
        if self._writer_lock is None and self.path != ":memory:" and fcntl is not None:
            self._writer_lock = os.open(self.path + "-lock", os.O_RDWR | os.O_CREAT, 0o644)

    async def open(self) -> None:
        if self._db is not None:
            return
        await self.connect()
        if self.auto_migrate:
            await self.migrate()
        else:
            await self.check_schema()

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

    async def close(self) -> None:
        if self._writer_lock is not None:
            fd, self._writer_lock = self._writer_lock, None
            os.close(fd)
        if self._reader is not None:
            reader, self._reader = self._reader, None
            reader.close()
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def ping(self) -> bool:
        try:
            return await self._run(lambda c: c.execute("SELECT 1").fetchone() == (1,))
        except StoreError:
            return False

    # -- schema -------------------------------------------------------------------------

    @staticmethod
    def _applied(conn: sqlite3.Connection) -> set[int]:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        return {row[0] for row in conn.execute("SELECT version FROM schema_version")}

    async def applied_versions(self) -> set[int]:
        """The migrations this database has had applied."""
        return await self._run(self._applied)

    async def schema_version(self) -> int:
        """The highest migration applied (0 for none)."""
        return max(await self.applied_versions(), default=0)

    async def migrate(self) -> list[int]:
        """Apply every migration the database lacks; returns the versions applied."""

        def upgrade(conn: sqlite3.Connection) -> list[int]:
            applied = []
            for step in migrations("sqlite"):
                # The version is read inside the write lock: processes sharing the file
                # may start (and migrate) at the same moment.
                if transaction(conn, partial(self._apply, step=step)):
                    applied.append(step.version)
            return applied

        return await self._run(upgrade)

    @classmethod
    def _apply(cls, conn: sqlite3.Connection, step: Migration) -> bool:
        if step.version in cls._applied(conn):
            return False
        for statement in step.sql.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?)", (step.version,))
        return True

    async def check_schema(self) -> None:
        """:class:`SchemaError` unless the database is at this code's schema version."""
        problem = schema_problem(f"SQLite {self.path}", await self.applied_versions(), "sqlite")
        if problem:
            raise SchemaError(problem)

    # -- turns --------------------------------------------------------------------------

    async def load(self, key: str, idempotency_keys: Sequence[str]) -> Loaded:
        return await self._read(self._load, key, tuple(idempotency_keys))

    @staticmethod
    def _load(conn: sqlite3.Connection, key: str, idem: tuple[str, ...]) -> Loaded:
        if idem:
            marks = ",".join("?" * len(idem))
            row = conn.execute(
                f"SELECT response FROM idempotency WHERE key IN ({marks}) LIMIT 1", idem
            ).fetchone()
            if row is not None:
                return Loaded(row[0], None)
        found = conn.execute(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE key = ?", (key,)
        ).fetchone()
        return Loaded(None, _conversation(found) if found else None)

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
            except (_Duplicate, ConflictError, sqlite3.Error) as exc:
                conn.execute("ROLLBACK TO turn")
                outcomes.append(_outcome(exc, path))
            conn.execute("RELEASE turn")
        return outcomes

    @staticmethod
    def _commit(conn: sqlite3.Connection, write: TurnWrite) -> None:
        c, at = write.conversation, write.at.isoformat()
        for idem in write.idempotency_keys:
            cur = conn.execute(
                "INSERT INTO idempotency (key, conversation, response, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                (idem, c.key, write.response, at),
            )
            if cur.rowcount == 0:
                row = conn.execute("SELECT response FROM idempotency WHERE key = ?", (idem,))
                raise _Duplicate(row.fetchone()[0])
        for seen in write.contacts:  # BEGIN IMMEDIATE: no other writer until COMMIT
            if read_contact(conn, seen.scope, seen.person, seen.window).head != seen.head:
                raise ConflictError(f"consent or window of {seen.person} changed since read")
        if write.save_state:
            SQLiteStore._save(conn, c, at)
        conn.executemany(
            f"INSERT INTO message_log ({_LOG_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [_log_row(entry) for entry in write.log],
        )
        for change in write.consent:
            insert_consent(conn, change)
        if write.touch_window:
            conn.execute(
                "INSERT INTO whatsapp_windows (conversation, last_inbound) VALUES (?, ?) "
                "ON CONFLICT (conversation) DO UPDATE SET last_inbound = excluded.last_inbound",
                (c.key, at),
            )
        write_timers_and_outbox(conn, write)

    @staticmethod
    def _save(conn: sqlite3.Connection, c: Conversation, at: str) -> None:
        data = _dumps(c.data)
        if c.version == 1:
            cur = conn.execute(
                f"INSERT INTO conversations ({_CONVERSATION_COLUMNS}) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (key) DO NOTHING",
                (c.key, c.flow, c.state, data, 1, int(c.closed), c.channel, c.ours, c.theirs,
                 at, at),
            )  # fmt: skip
        else:
            cur = conn.execute(
                "UPDATE conversations SET flow = ?, state = ?, data = ?, version = ?, closed = ?, "
                "updated_at = ? WHERE key = ? AND version = ?",
                (c.flow, c.state, data, c.version, int(c.closed), at, c.key, c.version - 1),
            )
        if cur.rowcount != 1:
            raise ConflictError(f"conversation {c.key!r} moved past version {c.version - 1}")

    async def conversation(self, key: str) -> Conversation | None:
        return (await self.load(key, ())).conversation

    async def history(
        self, theirs: str, *, exclude: str = "", limit: int = 5
    ) -> list[Conversation]:
        def read(conn: sqlite3.Connection) -> list[Conversation]:
            rows = conn.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE theirs = ? AND key != ? "
                "ORDER BY updated_at DESC, version DESC LIMIT ?",
                (theirs, exclude, limit),
            ).fetchall()
            return [_conversation(row) for row in rows]

        return await self._run(read)

    async def log(self, key: str) -> list[LogEntry]:
        def read(conn: sqlite3.Connection) -> list[LogEntry]:
            rows = conn.execute(
                f"SELECT {_LOG_COLUMNS} FROM message_log WHERE conversation = ? ORDER BY id",
                (key,),
            ).fetchall()
            return [_log_entry(row) for row in rows]

        return await self._run(read)


def _outcome(exc: Exception, path: str) -> str | BaseException:
    if isinstance(exc, _Duplicate):
        return exc.response
    if isinstance(exc, sqlite3.Error):
        return StoreError(f"SQLite error on {path}: {exc}")
    return exc


class _Duplicate(Exception):
    def __init__(self, response: str) -> None:
        self.response = response
