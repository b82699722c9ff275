"""PostgreSQL backend on asyncpg: many stateless processes on one database.

- **One step at a time per conversation, across processes.** :meth:`PostgresStore.hold`
  takes a session-level advisory lock on the conversation's key (on a pooled connection
  that the turn then uses for its load and commit), so two instances never run a step of
  the same conversation at once. The version guard in :meth:`commit` stays as the
  safety net. A lock wait is bounded by ``lock_timeout``; the server drops the lock if the
  process dies.
- **Two hops per turn on the data**: :meth:`load` is one query (idempotency hit or the
  conversation); :meth:`commit` is one transaction guarded by the conversation's version and
  by the heads of the contacts the turn read (re-read in the same statement).
- **Schema**: versioned migrations under ``storage/migrations/postgres``, applied by
  ``switchboard db upgrade`` (serialised across processes by an advisory lock) and checked
  at :meth:`open`; the store does not migrate by itself unless asked (``auto_migrate``).

Why asyncpg rather than psycopg 3: measured in ``bench/pg_drivers.py`` (see
docs/deployment.md), asyncpg's binary protocol and prepared-statement cache gave the
shorter load and commit on loopback, and it was already the ``postgres`` extra.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

import storage.schema as S
from storage.admin_queries import record_audit
from storage.backend import Backend
from storage.dialect import POSTGRES, dumps, numbered
from storage.errors import ConfigError, ConflictError, SchemaError, StoreError
from storage.migrations import Migration
from storage.postgres import outbox
from storage.postgres.sql import COMMIT, CONTACT, LOAD
from storage.programs import Program
from storage.records import (
    ConsentChange,
    Contact,
    Loaded,
    LogEntry,
    OutboundMessage,
    Timer,
    TurnWrite,
)

__all__ = ["PostgresStore"]

R = TypeVar("R")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x5357_4442  # "SWDB": one `db upgrade` at a time per database
_MIGRATION_TIMEOUT_S = 3600.0
# TimeoutError: a statement past statement_timeout on the client's side (a silent server).
_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=dumps, decoder=json.loads, schema="pg_catalog")


def _log_columns(entries: Sequence[LogEntry]) -> list[list[Any]]:
    rows = [
        (e.conversation, e.direction, e.kind, e.body, e.at, e.sid, e.channel,
         dumps(list(e.media)), e.state_before, e.state_after, dumps(e.meta))
        for e in entries
    ]  # fmt: skip
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 11


def _consent_columns(changes: Sequence[ConsentChange]) -> list[list[Any]]:
    rows = [(c.person, c.scope, c.status, c.source, c.at, c.channel, c.detail) for c in changes]
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 7


def _contact_columns(contacts: Sequence[Contact]) -> list[list[Any]]:
    return [[c.scope for c in contacts], [c.person for c in contacts], [c.window for c in contacts]]


def _head(entry: int | None, last: datetime | None, window: str | None) -> str:
    """The token for a contact's state: its latest ledger entry, and its window when asked."""
    head = str(entry or 0)
    return head if window is None else f"{head}/{last.isoformat() if last else ''}"


def _check_heads(
    contacts: Sequence[Contact], ids: Sequence[int | None], seen: Sequence[datetime | None]
) -> None:
    """:class:`ConflictError` when a contact's head moved since the turn read it.

    The heads are read in the commit statement's snapshot: a change committed before it
    started is seen; one committing while it runs is ordered after this turn."""
    for contact, entry, last in zip(contacts, ids, seen, strict=True):
        if _head(entry, last, contact.window) != contact.head:
            raise ConflictError(f"consent or window of {contact.person} changed since read")


class PostgresStore(Backend):
    """The store for many processes on one PostgreSQL database.

    ``dsn`` is a libpq-style URL (its other query parameters become server settings);
    ``schema`` puts the tables in that schema instead of ``public`` (it is created by
    :meth:`migrate`). ``lock_timeout_s`` bounds how long a turn waits for a conversation
    another process is stepping; ``acquire_timeout_s`` how long it waits for a connection;
    ``connect_timeout_s`` one connection attempt; ``statement_timeout_s`` one statement (on
    the server, and on the client for a server that stops answering).
    """

    dialect = POSTGRES

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        auto_migrate: bool = False,
        pool_min: int = 1,
        pool_max: int = 10,
        lock_timeout_s: float = 10.0,
        acquire_timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        statement_timeout_s: float = 10.0,
    ) -> None:
        if schema is not None and not _IDENTIFIER.match(schema):
            raise ConfigError(f"schema {schema!r}: use lower-case letters, digits and _")
        if not 1 <= pool_min <= pool_max:
            raise ConfigError(f"pool sizes must satisfy 1 <= min <= max: {pool_min}, {pool_max}")
        self.dsn = dsn
        self.schema = schema
        self.auto_migrate = auto_migrate
        self.pool_min, self.pool_max = pool_min, pool_max
        self.lock_timeout_s = lock_timeout_s
        self.acquire_timeout_s = acquire_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.statement_timeout_s = statement_timeout_s
        self.ping_timeout_s = acquire_timeout_s
        self._pool: asyncpg.Pool | None = None
        self._held: ContextVar[tuple[str, asyncpg.Connection] | None] = ContextVar(
            f"switchboard_pg_held_{id(self)}", default=None
        )

    @property
    def where(self) -> str:
        """The database (and schema) for messages: never the password."""
        host, db = _describe(self.dsn)
        return f"PostgreSQL {host}/{db}" + (f" schema {self.schema}" if self.schema else "")

    # -- connections --------------------------------------------------------------------

    async def connect(self) -> None:
        """Create the connection pool without touching the schema."""
        if self._pool is not None:
            return
        settings = {
            "lock_timeout": f"{int(self.lock_timeout_s * 1000)}ms",
            "statement_timeout": f"{int(self.statement_timeout_s * 1000)}ms",
        }
        if self.schema:
            settings["search_path"] = self.schema
        try:
            # timeout bounds each connection attempt; command_timeout each statement on the
            # client's side too, so a server that stops answering (black-holed) cannot hang one.
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self.pool_min, max_size=self.pool_max,
                server_settings=settings, init=_init_connection, timeout=self.connect_timeout_s,
                command_timeout=self.statement_timeout_s,
            )  # fmt: skip
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise StoreError(f"cannot connect to {self.where}: {_reason(exc)}") from exc

    async def disconnect(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """The connection this task holds a conversation on, else one from the pool."""
        held = self._held.get()
        if held is not None:
            yield held[1]
            return
        if self._pool is None:
            raise StoreError("the PostgreSQL store is not open (call `await store.open()` first)")
        try:
            async with self._pool.acquire(timeout=self.acquire_timeout_s) as conn:
                yield conn
        except _ERRORS as exc:
            raise _translate(exc, self.where) from exc

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Keep every other process (and task) off conversation ``key`` while held."""
        if self._held.get() is not None:
            raise StoreError("a task can hold one conversation at a time")
        lock_key = f"{self.schema or 'public'}:{key}"
        async with self._connection() as conn:
            try:
                await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock_key)
            except _ERRORS as exc:
                raise _translate(exc, self.where) from exc
            token = self._held.set((key, conn))
            try:
                yield
            finally:
                self._held.reset(token)
        # No explicit unlock: the pool resets every connection it gets back, which releases
        # its advisory locks (asyncpg Connection.reset), or closes it if the reset fails;
        # and the server drops a dead session's locks. One round trip less per turn.

    async def run(
        self, program: Program[R], *, atomic: bool = True, statement_timeout_s: float | None = None
    ) -> R:
        async with self._connection() as conn:
            try:
                if not atomic:
                    return await _drive(conn, program, statement_timeout_s)
                async with conn.transaction():
                    return await _drive(conn, program, statement_timeout_s)
            except _ERRORS as exc:
                raise _translate(exc, self.where) from exc

    async def _query(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except _ERRORS as exc:
            raise _translate(exc, self.where) from exc

    # -- schema -------------------------------------------------------------------------

    async def applied_versions(self) -> set[int]:
        async with self._connection() as conn:
            if await self._query(conn.fetchval("SELECT to_regclass('schema_version')")) is None:
                return set()
            rows = await self._query(conn.fetch("SELECT version FROM schema_version"))
        return {row[0] for row in rows}

    async def apply_migration(self, step: Migration) -> bool:
        async with self._connection() as conn, conn.transaction():
            # DDL waits for running turns to let go of the tables: allow it a minute.
            await conn.execute("SET LOCAL lock_timeout = '60s'")
            await conn.execute("SET LOCAL statement_timeout = 0")  # a migration takes its time
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            if self.schema:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = await conn.fetchval(
                "SELECT count(*) FROM schema_version WHERE version = $1", step.version
            )
            if done:
                return False
            await conn.execute(step.sql, timeout=_MIGRATION_TIMEOUT_S)
            await conn.execute(
                "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
                step.version, step.name,
            )  # fmt: skip
        return True

    # -- turns --------------------------------------------------------------------------

    async def load(self, key: str, idempotency_keys: Sequence[str]) -> Loaded:
        async with self._connection() as conn:
            row = await self._query(conn.fetchrow(LOAD, key, list(idempotency_keys)))
        width = len(S.CONVERSATION)  # the conversation's columns, then the stored response
        if row[width] is not None:
            return Loaded(row[width], None)
        return Loaded(None, S.conversation(row[:width], POSTGRES) if row[0] is not None else None)

    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        async with self._connection() as conn:
            entry, out, last = await self._query(conn.fetchrow(CONTACT, scope, person, window))
        return Contact(
            bool(out), last, scope=scope, person=person, window=window,
            head=_head(entry, last, window),
        )  # fmt: skip

    async def commit(self, write: TurnWrite) -> str | None:
        c, keys = write.conversation, list(dict.fromkeys(write.idempotency_keys))
        data = c.data if write.save_state else {}  # a rolled-back step's data is not written
        async with self._connection() as conn:
            try:
                async with conn.transaction():
                    recorded, saved, ids, seen = await conn.fetchrow(
                        COMMIT, c.key, write.response, write.at, keys, c.flow, c.state, data,
                        c.version, c.closed, write.save_state, c.channel, c.ours, c.theirs,
                        *_log_columns(write.log), *_consent_columns(write.consent),
                        write.touch_window, *_contact_columns(write.contacts),
                        *outbox.fired_timer(write), write.moved and not write.clear_timers,
                        c.flow_version, c.flow_shape,
                        list(c.stack), write.dropped_by,
                    )  # fmt: skip
                    if recorded != len(keys):
                        raise _Duplicate
                    if write.save_state and saved != 1:
                        raise ConflictError(
                            f"conversation {c.key!r} moved past version {c.version - 1}"
                        )
                    _check_heads(write.contacts, ids, seen)
                    await outbox.write_outbound(conn, write)  # same transaction
                    if write.audit is not None:  # an operator's action: audited with it
                        await _drive(conn, record_audit(POSTGRES, write.audit), None)
            except _Duplicate:
                earlier: str | None = await self._query(conn.fetchval(
                    "SELECT response FROM idempotency WHERE key = ANY($1::text[]) LIMIT 1", keys
                ))  # fmt: skip
                return earlier
            except _ERRORS as exc:
                raise _translate(exc, self.where) from exc
        return None

    # -- the set-based outbox writes ----------------------------------------------------

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> int:
        async with self._connection() as conn:  # one statement: atomic by itself
            added: int = await self._query(outbox.enqueue(conn, messages))
        return added

    async def claim_outbox(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboundMessage]:
        async with self._connection() as conn, conn.transaction():
            claimed: list[OutboundMessage] = await self._query(
                outbox.claim_outbox(conn, owner, now, lease_until, limit)
            )
        return claimed

    async def claim_timers(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Timer]:
        async with self._connection() as conn, conn.transaction():
            claimed: list[Timer] = await self._query(
                outbox.claim_timers(conn, owner, now, lease_until, limit)
            )
        return claimed


async def _drive(conn: asyncpg.Connection, program: Program[R], limit_s: float | None) -> R:
    """Run each statement ``program`` yields (its ``?`` numbered) and send it the rows."""
    try:
        sql, args = next(program)
        while True:
            rows = await conn.fetch(numbered(sql), *args, timeout=limit_s)
            sql, args = program.send(rows)
    except StopIteration as stop:
        result: R = stop.value
        return result


class _Duplicate(Exception):
    """One of the turn's idempotency keys was already recorded: roll the turn back."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer within the statement or connection timeout"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _translate(exc: BaseException, where: str) -> StoreError:
    if isinstance(exc, asyncpg.exceptions.LockNotAvailableError):
        return StoreError(
            f"{where}: lock_timeout passed waiting for a lock another process holds "
            "(on this conversation, or on a table being migrated)"
        )
    if isinstance(exc, asyncpg.exceptions.UndefinedTableError):
        return SchemaError(f"{where} has no Switchboard tables: run `switchboard db upgrade`")
    return StoreError(f"{where}: {_reason(exc)}")


def _describe(dsn: str) -> tuple[str, str]:
    parts = urlsplit(dsn)
    return (parts.hostname or "localhost") + (f":{parts.port}" if parts.port else ""), (
        parts.path.lstrip("/") or "postgres"
    )
