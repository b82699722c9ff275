"""The outbox and timers on PostgreSQL (mixed into :class:`storage.postgres.PostgresStore`).

The set-based writes (enqueue, a turn's outbound part, the claims), as in
:mod:`storage.sqlite.outbox`, with rows claimed by ``SELECT … FOR UPDATE SKIP LOCKED`` so
several processes share the work without waiting on each other. The rest of the outbox is
written once, in :mod:`storage.programs`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

import storage.schema as S
from storage.dialect import POSTGRES
from storage.records import OutboundMessage, Timer, TurnWrite

__all__ = ["claim_outbox", "claim_timers", "enqueue", "fired_timer", "write_outbound"]

_COLUMNS = S.columns(S.OUTBOX)
_TIMER_COLUMNS = S.columns(S.TIMER)
_CLAIM = (
    "WITH picked AS (SELECT id, status AS was FROM outbox WHERE {where} "
    "ORDER BY {order} LIMIT $4 FOR UPDATE SKIP LOCKED) "
    "UPDATE outbox o SET status = 'claimed', lease_owner = $2, lease_until = $3 "
    f"FROM picked WHERE o.id = picked.id RETURNING {S.columns(S.OUTBOX_READ, 'o')}, picked.was, "
    "(SELECT code FROM undeliverable u WHERE u.address = o.theirs) AS undeliverable"
)
_CLAIM_DUE = _CLAIM.format(where="status = 'pending' AND due_at <= $1", order="due_at")
_CLAIM_EXPIRED = _CLAIM.format(
    where="status = 'claimed' AND lease_until <= $1", order="lease_until"
)
_CLAIM_TIMERS = (
    "WITH picked AS (SELECT id FROM timers WHERE due_at <= $1 "
    "AND (lease_until IS NULL OR lease_until <= $1) ORDER BY due_at LIMIT $4 "
    "FOR UPDATE SKIP LOCKED) "
    "UPDATE timers t SET lease_owner = $2, lease_until = $3 FROM picked "
    f"WHERE t.id = picked.id RETURNING {S.columns(S.TIMER, 't')}"
)


# New messages and a "queued" history entry for each one actually added, in one statement.
_ENQUEUE = f"""
WITH added AS (
    INSERT INTO outbox ({_COLUMNS}, updated_at)
    SELECT i, cv, f, ch, ou, th, b, m::jsonb, cs, cvars, p, st, d, a, due, s, ec, e, sg, enc,
           co, cr, tp, cr
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                $13::text[], $14::int[], $15::timestamptz[], $16::text[], $17::int[],
                $18::text[], $19::int[], $20::text[], $21::text[], $22::timestamptz[],
                $23::text[])
         AS n (i, cv, f, ch, ou, th, b, m, cs, cvars, p, st, d, a, due, s, ec, e, sg, enc, co,
               cr, tp)
    ON CONFLICT (id) DO NOTHING
    RETURNING id, created_at, status, purpose
), logged AS (
    INSERT INTO outbox_history (message, at, event, status, detail)
    SELECT id, created_at, 'queued', status, jsonb_build_object('purpose', purpose) FROM added
)
SELECT count(*) FROM added
"""
# The timers a turn sets, each with a "set" entry in the timer history, in one statement.
_SET_TIMERS = f"""
WITH armed AS (
    INSERT INTO timers ({_TIMER_COLUMNS})
    SELECT i, cv, n, tr, f, st, ch, ou, th, due, p::jsonb, due
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[])
         AS x (i, cv, n, tr, f, st, ch, ou, th, due, p)
    ON CONFLICT (id) DO UPDATE SET trigger_name = excluded.trigger_name, flow = excluded.flow,
        state = excluded.state, due_at = excluded.due_at, payload = excluded.payload,
        lease_owner = NULL, lease_until = NULL
    RETURNING conversation, name, trigger_name, state, due_at
)
INSERT INTO timer_history (conversation, at, event, name, trigger_name, state, due_at)
SELECT conversation, $12, 'set', name, trigger_name, state, due_at FROM armed
"""


# Every timer of a conversation (the call stack changed: a subflow called or returned, or
# a restart or an operator's reset dropped it), each with its history entry.
_CLEAR_TIMERS = """
WITH gone AS (
    DELETE FROM timers WHERE conversation = $1 RETURNING name, trigger_name, state, due_at
)
INSERT INTO timer_history (conversation, at, event, name, trigger_name, state, due_at, reason)
SELECT $1, $2, 'cancelled', name, trigger_name, state, due_at, 'call stack changed'
FROM gone
"""


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


def _message_columns(messages: Sequence[OutboundMessage]) -> list[list[Any]]:
    rows = [
        (m.id, m.conversation, m.flow, m.channel, m.ours, m.theirs, m.body,
         json.dumps(list(m.media)), m.content_sid, m.content_variables, m.purpose, m.status,
         m.delivery, m.attempts, m.due_at, m.sid, m.error_code, m.error, m.segments, m.encoding,
         m.cost, m.created_at, m.template)
        for m in messages
    ]  # fmt: skip
    return _columns(rows, 23)


def _timer_columns(timers: Sequence[Timer]) -> list[list[Any]]:
    rows = [
        (t.id, t.conversation, t.name, t.trigger, t.flow, t.state, t.channel, t.ours, t.theirs,
         t.due_at, json.dumps(t.payload, ensure_ascii=False))
        for t in timers
    ]  # fmt: skip
    return _columns(rows, 11)


async def enqueue(conn: asyncpg.Connection, messages: Sequence[OutboundMessage]) -> int:
    """Insert the messages not stored yet, each with a "queued" history entry; how many."""
    if not messages:
        return 0
    added: int = await conn.fetchval(_ENQUEUE, *_message_columns(messages))
    return added


def fired_timer(write: TurnWrite) -> tuple[str | None, datetime | None]:
    """The id and due time of the timer a turn fires, for the turn statement's DELETE."""
    return (write.fired.id, write.fired.due_at) if write.fired is not None else (None, None)


async def write_outbound(conn: asyncpg.Connection, write: TurnWrite) -> None:
    """The rest of a turn's outbound writes, inside its transaction (see storage.sqlite.outbox).

    The timers the turn fires or leaves behind were deleted by the turn's own statement
    (storage.postgres.sql); here the messages it sends are queued and the timers it sets written,
    one statement each and only when there are any.
    """
    if not write.save_state:
        return
    await enqueue(conn, write.outbox)
    if write.clear_timers and not write.conversation.closed:  # a subflow called or returned
        await conn.execute(_CLEAR_TIMERS, write.conversation.key, write.at)
    if write.timers and not write.conversation.closed:
        await conn.execute(_SET_TIMERS, *_timer_columns(write.timers), write.at)


async def claim_outbox(
    conn: asyncpg.Connection, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[OutboundMessage]:
    """Lease due messages, then those whose lease ran out, up to ``limit`` (in a transaction)."""
    rows = list(await conn.fetch(_CLAIM_DUE, now, owner, lease_until, limit))
    if len(rows) < limit:
        rows += await conn.fetch(_CLAIM_EXPIRED, now, owner, lease_until, limit - len(rows))
    return [S.message(row, POSTGRES, row["was"] == "claimed", row["undeliverable"]) for row in rows]


async def claim_timers(
    conn: asyncpg.Connection, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[Timer]:
    """Lease due timers (and those whose lease ran out), up to ``limit``: one statement."""
    rows = await conn.fetch(_CLAIM_TIMERS, now, owner, lease_until, limit)
    return [S.timer(row, POSTGRES) for row in rows]
