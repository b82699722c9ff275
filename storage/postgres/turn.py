"""A turn's writes on PostgreSQL: the one commit statement (:mod:`storage.postgres.sql`), its
arguments as columns, and the checks that decide whether the turn stands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from storage.admin_queries import record_audit
from storage.dialect import POSTGRES, dumps, numbered
from storage.errors import ConflictError
from storage.postgres import outbox
from storage.postgres.sql import COMMIT
from storage.programs import Program
from storage.records import ConsentChange, Contact, LogEntry, TurnWrite

__all__ = ["Duplicate", "drive", "head", "write_turn"]

R = TypeVar("R")


class Duplicate(Exception):
    """One of the turn's idempotency keys was already recorded: roll the turn back."""


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


def head(entry: int | None, last: datetime | None, window: str | None) -> str:
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
        if head(entry, last, contact.window) != contact.head:
            raise ConflictError(f"consent or window of {contact.person} changed since read")


async def write_turn(conn: asyncpg.Connection, write: TurnWrite, keys: list[str]) -> None:
    """The turn's statement and outbound rows, in the caller's transaction; :class:`Duplicate`
    or :class:`ConflictError` when it must be rolled back."""
    c = write.conversation
    data = c.data if write.save_state else {}  # a rolled-back step's data is not written
    recorded, saved, ids, seen = await conn.fetchrow(
        COMMIT, c.key, write.response, write.at, keys, c.flow, c.state, data,
        c.version, c.closed, write.save_state, c.channel, c.ours, c.theirs,
        *_log_columns(write.log), *_consent_columns(write.consent),
        write.touch_window, *_contact_columns(write.contacts),
        *outbox.fired_timer(write), write.moved and not write.clear_timers,
        c.flow_version, c.flow_shape, list(c.stack), write.dropped_by,
    )  # fmt: skip
    if recorded != len(keys):
        raise Duplicate
    if write.save_state and saved != 1:
        raise ConflictError(f"conversation {c.key!r} moved past version {c.version - 1}")
    _check_heads(write.contacts, ids, seen)
    await outbox.write_outbound(conn, write)  # same transaction
    if write.audit is not None:  # an operator's action: audited with it
        await drive(conn, record_audit(POSTGRES, write.audit), None)


async def drive(conn: asyncpg.Connection, program: Program[R], limit_s: float | None) -> R:
    """Run each statement ``program`` yields (its ``?`` numbered) and send it the rows."""
    try:
        sql, args = next(program)
        while True:
            rows = await conn.fetch(numbered(sql), *args, timeout=limit_s)
            sql, args = program.send(rows)
    except StopIteration as stop:
        result: R = stop.value
        return result
