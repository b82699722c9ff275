"""PostgreSQL backend on asyncpg: many stateless processes on one database.

- **One step at a time per conversation, across processes.** :meth:`PostgresStore.hold`
  opens a transaction and takes a transaction-scoped advisory lock on the conversation's key
  in one round trip (on a pooled connection that the turn then uses for its load, contact
  and commit; :mod:`storage.postgres.held`), so two instances never run a step of the same
  conversation at once; the turn's COMMIT lets go of it. The version guard in
  :meth:`commit` stays as the safety net. A lock wait is bounded by ``lock_timeout``; the
  server drops the lock if the process dies.
- **Five round trips per turn**: the lock, :meth:`load` (idempotency hit or the
  conversation, one query), :meth:`contact`, the commit statement (guarded by the
  conversation's version and by the heads of the contacts the turn read, re-read in the same
  statement) and COMMIT. The pool's reset query is skipped: the store leaves no session state
  (asyncpg still rolls back a transaction left open).
- **Schema**: versioned migrations under ``storage/migrations/postgres``, applied by
  ``switchboard db upgrade`` (serialised across processes by an advisory lock) and checked
  at :meth:`open`; the store does not migrate by itself unless asked (``auto_migrate``).

Why asyncpg rather than psycopg 3: measured in ``bench/pg_drivers.py`` (see
docs/deployment.md), asyncpg's binary protocol and prepared-statement cache gave the
shorter load and commit on loopback, and it was already the ``postgres`` extra.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import asyncpg

import storage.schema as S
from storage.backend import Backend
from storage.dialect import POSTGRES, dumps
from storage.errors import ConfigError, ConflictError, SchemaError, StoreError
from storage.migrations import Migration
from storage.postgres import outbox
from storage.postgres.held import Held, lock_id
from storage.postgres.sql import CONTACT, LOAD
from storage.postgres.turn import Duplicate, drive, head, write_turn
from storage.programs import Program
from storage.records import (
    Contact,
    Loaded,
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


class _OneLine(logging.Filter):
    """asyncpg's pool logs each failed attempt to refill its connection floor with a
    traceback, every 1, 2, 4 … s while PostgreSQL is down. Here it becomes one line (the
    error's type and text: asyncpg's connection errors never carry the password)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {_reason(exc)}"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


_ONE_LINE = _OneLine()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=dumps, decoder=json.loads, schema="pg_catalog")


async def _no_reset(conn: asyncpg.Connection) -> None:
    """The pool's reset: nothing. The store takes no session lock (advisory locks are
    transaction-scoped), sets nothing outside a transaction, opens no cursor and listens to
    nothing; asyncpg rolls back a transaction left open before calling this. The default
    reset query would cost every release a round trip."""


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
        self._held: ContextVar[Held | None] = ContextVar(
            f"switchboard_pg_held_{id(self)}", default=None
        )

    @property
    def where(self) -> str:
        """The database (and schema) for messages: never the password."""
        return f"PostgreSQL {_describe(self.dsn)}" + (
            f" schema {self.schema}" if self.schema else ""
        )

    # -- connections --------------------------------------------------------------------

    async def connect(self) -> None:
        """Create the connection pool without touching the schema."""
        if self._pool is not None:
            return
        logging.getLogger("asyncpg.pool").addFilter(_ONE_LINE)  # once: filters are a set
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
                command_timeout=self.statement_timeout_s, reset=_no_reset,
            )  # fmt: skip
        except (
            OSError,
            asyncpg.PostgresError,
            asyncpg.ClientConfigurationError,
            TimeoutError,
        ) as exc:
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
            if not held.usable():
                raise StoreError(f"{self.where}: the connection holding {held.key!r} was lost")
            if not held.conn.is_in_transaction():  # used again after its COMMIT: lock again
                await self._query(held.begin())
            yield held.conn
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
        async with self._connection() as conn:
            held = Held(key, conn, lock_id(f"{self.schema or 'public'}:{key}"))
            await self._query(held.begin())
            token = self._held.set(held)
            try:
                yield
            finally:
                self._held.reset(token)
                await held.end()

    async def run(
        self, program: Program[R], *, atomic: bool = True, statement_timeout_s: float | None = None
    ) -> R:
        async with self._connection() as conn:
            try:
                if not atomic:
                    return await drive(conn, program, statement_timeout_s)
                if self._held.get() is not None:  # inside the held transaction: a savepoint
                    return await _savepoint(conn, drive(conn, program, statement_timeout_s))
                async with conn.transaction():
                    return await drive(conn, program, statement_timeout_s)
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
            head=head(entry, last, window),
        )  # fmt: skip

    async def commit(self, write: TurnWrite) -> str | None:
        keys = list(dict.fromkeys(write.idempotency_keys))
        held = self._held.get()
        if held is not None:
            return await self._commit_held(held, write, keys)
        async with self._connection() as conn:
            try:
                async with conn.transaction():
                    await write_turn(conn, write, keys)
            except Duplicate:
                return await self._earlier(conn, keys)
            except _ERRORS as exc:
                raise _translate(exc, self.where) from exc
        return None

    async def _commit_held(self, held: Held, write: TurnWrite, keys: list[str]) -> str | None:
        """The turn inside the held transaction; anything but success undoes it and holds
        the conversation again (see :mod:`storage.postgres.held`)."""
        try:
            held.writing = True
            await write_turn(held.conn, write, keys)
            await held.commit()
        except Duplicate:
            await self._query(held.again())
            return await self._earlier(held.conn, keys)
        except ConflictError:
            await self._query(held.again())
            raise
        except _ERRORS as exc:
            if held.usable():
                await self._query(held.again())
            raise _translate(exc, self.where) from exc
        return None

    async def _earlier(self, conn: asyncpg.Connection, keys: list[str]) -> str | None:
        earlier: str | None = await self._query(conn.fetchval(
            "SELECT response FROM idempotency WHERE key = ANY($1::text[]) LIMIT 1", keys
        ))  # fmt: skip
        return earlier

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


async def _savepoint(conn: asyncpg.Connection, work: Coroutine[Any, Any, R]) -> R:
    await conn.execute("SAVEPOINT switchboard_run")
    try:
        result = await work
    except BaseException:
        await conn.execute("ROLLBACK TO SAVEPOINT switchboard_run")
        raise
    await conn.execute("RELEASE SAVEPOINT switchboard_run")
    return result


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


def _describe(dsn: str) -> str:
    """``host:port/database``, or ``database via the socket directory /dir`` (never the
    password). A ``?host=`` wins over the URL's host, as in libpq; a path there is a Unix
    socket directory."""
    parts = urlsplit(dsn)
    host = dict(parse_qsl(parts.query)).get("host") or parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    db = parts.path.lstrip("/") or "postgres"
    if host.startswith("/"):
        return f"{db} via the socket directory {host}" + (f" (port {parts.port})" if port else "")
    return f"{host}{port}/{db}"
