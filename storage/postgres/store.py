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
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from storage.base import Store
from storage.errors import ConfigError, ConflictError, SchemaError, StoreError
from storage.migrations import migrations, schema_problem
from storage.postgres_outbox import PostgresOutbox, fired_timer, write_outbound
from storage.postgres_sql import (
    COMMIT,
    CONSENT_COLUMNS,
    CONTACT,
    CONVERSATION_COLUMNS,
    LOAD,
    LOG_COLUMNS,
)
from storage.records import ConsentChange, Contact, Conversation, Loaded, LogEntry, TurnWrite

__all__ = ["PostgresStore"]


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x5357_4442  # "SWDB": one `db upgrade` at a time per database


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_dumps, decoder=json.loads, schema="pg_catalog")


def _conversation(row: asyncpg.Record) -> Conversation:
    return Conversation(
        key=row["key"], flow=row["flow"], state=row["state"], data=row["data"],
        version=row["version"], closed=row["closed"], channel=row["channel"], ours=row["ours"],
        theirs=row["theirs"], created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


def _log_columns(entries: Sequence[LogEntry]) -> list[list[Any]]:
    rows = [
        (e.conversation, e.direction, e.kind, e.body, e.at, e.sid, e.channel,
         _dumps(list(e.media)), e.state_before, e.state_after, _dumps(e.meta))
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


def _log_entry(row: asyncpg.Record) -> LogEntry:
    return LogEntry(
        conversation=row["conversation"], direction=row["direction"], kind=row["kind"],
        body=row["body"], at=row["at"], sid=row["sid"], channel=row["channel"],
        media=tuple(row["media"]), state_before=row["state_before"],
        state_after=row["state_after"], meta=row["meta"],
    )  # fmt: skip


class PostgresStore(PostgresOutbox, Store):
    """The store for many processes on one PostgreSQL database.

    ``dsn`` is a libpq-style URL (its other query parameters become server settings);
    ``schema`` puts the tables in that schema instead of ``public`` (it is created by
    :meth:`migrate`). ``lock_timeout_s`` bounds how long a turn waits for a conversation
    another process is stepping; ``acquire_timeout_s`` how long it waits for a connection.
    """

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

    async def open(self) -> None:
        if self._pool is not None:
            return
        await self.connect()
        try:
            await (self.migrate() if self.auto_migrate else self.check_schema())
        except BaseException:
            await self.close()
            raise

    async def connect(self) -> None:
        """Create the connection pool without touching the schema."""
        if self._pool is not None:
            return
        settings = {"lock_timeout": f"{int(self.lock_timeout_s * 1000)}ms"}
        if self.schema:
            settings["search_path"] = self.schema
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self.pool_min, max_size=self.pool_max,
                server_settings=settings, init=_init_connection, timeout=self.acquire_timeout_s,
            )  # fmt: skip
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise StoreError(f"cannot connect to {self.where}: {_reason(exc)}") from exc

    async def close(self) -> None:
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
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
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
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise _translate(exc, self.where) from exc
            token = self._held.set((key, conn))
            try:
                yield
            finally:
                self._held.reset(token)
        # No explicit unlock: the pool resets every connection it gets back, which releases
        # its advisory locks (asyncpg Connection.reset), or closes it if the reset fails;
        # and the server drops a dead session's locks. One round trip less per turn.

    async def ping(self) -> bool:
        try:
            async with self._connection() as conn:
                return bool(await conn.fetchval("SELECT 1", timeout=self.acquire_timeout_s) == 1)
        except (StoreError, OSError, asyncpg.PostgresError, TimeoutError):
            return False

    # -- schema -------------------------------------------------------------------------

    async def applied_versions(self) -> set[int]:
        """The migrations this database has had applied."""
        async with self._connection() as conn:
            if await self._query(conn.fetchval("SELECT to_regclass('schema_version')")) is None:
                return set()
            rows = await self._query(conn.fetch("SELECT version FROM schema_version"))
        return {row[0] for row in rows}

    async def schema_version(self) -> int:
        """The highest migration applied (0 for none)."""
        return max(await self.applied_versions(), default=0)

    async def migrate(self) -> list[int]:
        """Apply every migration the database lacks, each in its own transaction."""
        applied = []
        async with self._connection() as conn:
            for step in migrations("postgres"):
                async with conn.transaction():
                    # DDL waits for running turns to let go of the tables: allow it a minute.
                    await conn.execute("SET LOCAL lock_timeout = '60s'")
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
                    if not done:
                        await conn.execute(step.sql)
                        await conn.execute(
                            "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
                            step.version, step.name,
                        )  # fmt: skip
                        applied.append(step.version)
        return applied

    async def check_schema(self) -> None:
        """:class:`SchemaError` unless the database is at this code's schema version."""
        problem = schema_problem(self.where, await self.applied_versions(), "postgres")
        if problem:
            raise SchemaError(problem)

    # -- turns --------------------------------------------------------------------------

    async def load(self, key: str, idempotency_keys: Sequence[str]) -> Loaded:
        async with self._connection() as conn:
            row = await self._query(conn.fetchrow(LOAD, key, list(idempotency_keys)))
        if row[0] is not None:
            return Loaded(row[0], None)
        return Loaded(None, _conversation(row) if row["key"] is not None else None)

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
                        *fired_timer(write), write.moved,
                    )  # fmt: skip
                    if recorded != len(keys):
                        raise _Duplicate
                    if write.save_state and saved != 1:
                        raise ConflictError(
                            f"conversation {c.key!r} moved past version {c.version - 1}"
                        )
                    _check_heads(write.contacts, ids, seen)
                    await write_outbound(conn, write)  # outbox rows and timers, same transaction
            except _Duplicate:
                earlier: str | None = await self._query(conn.fetchval(
                    "SELECT response FROM idempotency WHERE key = ANY($1::text[]) LIMIT 1", keys
                ))  # fmt: skip
                return earlier
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise _translate(exc, self.where) from exc
        return None

    async def _query(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise _translate(exc, self.where) from exc

    async def conversation(self, key: str) -> Conversation | None:
        return (await self.load(key, ())).conversation

    async def history(
        self, theirs: str, *, exclude: str = "", limit: int = 5
    ) -> list[Conversation]:
        async with self._connection() as conn:
            rows = await self._query(conn.fetch(
                f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE theirs = $1 "
                "AND key <> $2 ORDER BY updated_at DESC, version DESC LIMIT $3",
                theirs, exclude, limit,
            ))  # fmt: skip
        return [_conversation(row) for row in rows]

    async def log(self, key: str) -> list[LogEntry]:
        async with self._connection() as conn:
            rows = await self._query(conn.fetch(
                f"SELECT {LOG_COLUMNS} FROM message_log WHERE conversation = $1 ORDER BY id", key
            ))  # fmt: skip
        return [_log_entry(row) for row in rows]

    # -- consent and the WhatsApp window ------------------------------------------------

    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        async with self._connection() as conn:
            entry, out, last = await self._query(conn.fetchrow(CONTACT, scope, person, window))
        return Contact(
            bool(out), last, scope=scope, person=person, window=window,
            head=_head(entry, last, window),
        )  # fmt: skip

    async def record_consent(self, change: ConsentChange) -> None:
        async with self._connection() as conn:
            await self._query(conn.execute(
                f"INSERT INTO consent_ledger ({CONSENT_COLUMNS}) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
                "$5::timestamptz[], $6::text[], $7::text[])",
                *_consent_columns([change]),
            ))  # fmt: skip

    async def consent_history(self, person: str) -> list[ConsentChange]:
        async with self._connection() as conn:
            rows = await self._query(conn.fetch(
                f"SELECT {CONSENT_COLUMNS} FROM consent_ledger WHERE person = $1 ORDER BY id",
                person,
            ))  # fmt: skip
        return [ConsentChange(*row) for row in rows]

    async def close_window(self, window: str, at: datetime) -> bool:
        async with self._connection() as conn:
            try:
                async with conn.transaction():
                    return await self._close_window(conn, window, at)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise _translate(exc, self.where) from exc

    @staticmethod
    async def _close_window(conn: asyncpg.Connection, window: str, at: datetime) -> bool:
        await conn.execute(
            "INSERT INTO whatsapp_windows (conversation) VALUES ($1) ON CONFLICT DO NOTHING", window
        )
        last = await conn.fetchval(
            "SELECT last_inbound FROM whatsapp_windows WHERE conversation = $1 FOR UPDATE", window
        )
        if last is not None and last > at:
            return False  # they wrote after the failed send: the window is open again
        await conn.execute(
            "UPDATE whatsapp_windows SET last_inbound = NULL, closed_at = $2 "
            "WHERE conversation = $1", window, at,
        )  # fmt: skip
        return last is not None


class _Duplicate(Exception):
    """One of the turn's idempotency keys was already recorded: roll the turn back."""


def _reason(exc: BaseException) -> str:
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
