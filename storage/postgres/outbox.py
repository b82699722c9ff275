"""The outbox and timers on PostgreSQL (mixed into :class:`storage.postgres.PostgresStore`).

The same behaviour as :mod:`storage.sqlite_outbox`, with rows claimed by
``SELECT … FOR UPDATE SKIP LOCKED`` so several processes share the work without waiting on
each other, and status callbacks applied under ``FOR UPDATE`` of the message's row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import asyncpg

from storage.outbox import OutboxStore
from storage.records import (
    FAILED_DELIVERY,
    DeliveryCount,
    DeliveryUpdate,
    HistoryEntry,
    OutboundMessage,
    OutboxChange,
    Timer,
    TurnWrite,
    delivery_advances,
)

__all__ = ["PostgresOutbox", "fired_timer", "write_outbound"]

_COLUMNS = (
    "id, conversation, flow, channel, ours, theirs, body, media, content_sid, content_variables, "
    "purpose, status, delivery, attempts, due_at, sid, error_code, error, segments, encoding, "
    "cost, created_at, template"
)
_TIMER_COLUMNS = (
    "id, conversation, name, trigger_name, flow, state, channel, ours, theirs, due_at, payload, "
    "created_at"
)
_HISTORY = (
    "INSERT INTO outbox_history (message, at, event, status, sid, code, detail) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"
)


def _message(row: asyncpg.Record, reclaimed: bool = False) -> OutboundMessage:
    return OutboundMessage(
        id=row["id"], conversation=row["conversation"], flow=row["flow"],
        channel=row["channel"], ours=row["ours"], theirs=row["theirs"], body=row["body"],
        media=tuple(row["media"]), content_sid=row["content_sid"],
        content_variables=row["content_variables"], purpose=row["purpose"],
        status=row["status"], delivery=row["delivery"], attempts=row["attempts"],
        due_at=row["due_at"], sid=row["sid"], error_code=row["error_code"], error=row["error"],
        segments=row["segments"], encoding=row["encoding"], cost=row["cost"],
        created_at=row["created_at"], reclaimed=reclaimed, template=row["template"],
        undeliverable=row.get("undeliverable"),
    )  # fmt: skip


def _timer(row: asyncpg.Record) -> Timer:
    return Timer(
        conversation=row["conversation"], name=row["name"], trigger=row["trigger_name"],
        flow=row["flow"], state=row["state"], channel=row["channel"], ours=row["ours"],
        theirs=row["theirs"], due_at=row["due_at"], payload=row["payload"],
    )  # fmt: skip


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
_SET_TIMERS = f"""
INSERT INTO timers ({_TIMER_COLUMNS})
SELECT i, cv, n, tr, f, st, ch, ou, th, due, p::jsonb, due
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[])
     AS x (i, cv, n, tr, f, st, ch, ou, th, due, p)
ON CONFLICT (id) DO UPDATE SET trigger_name = excluded.trigger_name, flow = excluded.flow,
    state = excluded.state, due_at = excluded.due_at, payload = excluded.payload,
    lease_owner = NULL, lease_until = NULL
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


async def _enqueue(conn: asyncpg.Connection, messages: Sequence[OutboundMessage]) -> int:
    if not messages:
        return 0
    added: int = await conn.fetchval(_ENQUEUE, *_message_columns(messages))
    return added


def fired_timer(write: TurnWrite) -> tuple[str | None, datetime | None]:
    """The id and due time of the timer a turn fires, for the turn statement's DELETE."""
    return (write.fired.id, write.fired.due_at) if write.fired is not None else (None, None)


async def write_outbound(conn: asyncpg.Connection, write: TurnWrite) -> None:
    """The rest of a turn's outbound writes, inside its transaction (see sqlite_outbox).

    The timers the turn fires or leaves behind were deleted by the turn's own statement
    (storage.postgres); here the messages it sends are queued and the timers it sets written,
    one statement each and only when there are any.
    """
    if not write.save_state:
        return
    await _enqueue(conn, write.outbox)
    if write.timers and not write.conversation.closed:
        await conn.execute(_SET_TIMERS, *_timer_columns(write.timers))


class PostgresOutbox(OutboxStore):
    """Outbox and timer methods; needs the host class's ``_connection`` and ``_query``."""

    _connection: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
    _query: Callable[[Any], Any]

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> int:
        async with self._connection() as conn:  # one statement: atomic by itself
            added: int = await self._query(_enqueue(conn, messages))
        return added

    async def claim_outbox(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboundMessage]:
        claim = (
            "WITH picked AS (SELECT id, status AS was FROM outbox WHERE {where} "
            "ORDER BY {order} LIMIT $4 FOR UPDATE SKIP LOCKED) "
            "UPDATE outbox o SET status = 'claimed', lease_owner = $2, lease_until = $3 "
            "FROM picked WHERE o.id = picked.id "
            f"RETURNING {', '.join('o.' + c.strip() for c in _COLUMNS.split(','))}, picked.was, "
            "(SELECT code FROM undeliverable u WHERE u.address = o.theirs) AS undeliverable"
        )
        due = claim.format(where="status = 'pending' AND due_at <= $1", order="due_at")
        expired = claim.format(
            where="status = 'claimed' AND lease_until <= $1", order="lease_until"
        )
        async with self._connection() as conn, conn.transaction():
            rows = list(await self._query(conn.fetch(due, now, owner, lease_until, limit)))
            if len(rows) < limit:
                more = conn.fetch(expired, now, owner, lease_until, limit - len(rows))
                rows += await self._query(more)
        return [_message(row, row["was"] == "claimed") for row in rows]

    async def update_outbox(self, message_id: str, owner: str, change: OutboxChange) -> bool:
        c = change
        async with self._connection() as conn, conn.transaction():
            done = await self._query(conn.fetchval(
                "UPDATE outbox SET status = $1, due_at = COALESCE($2, due_at), "
                "attempts = COALESCE($3, attempts), sid = COALESCE($4, sid), "
                "delivery = CASE WHEN $5::text IS NULL OR sid IS NOT DISTINCT FROM $4 "
                "THEN delivery ELSE $5 END, error_code = $6, error = $7, "
                "segments = COALESCE($8, segments), encoding = COALESCE($9, encoding), "
                "cost = COALESCE($10, cost), body = COALESCE($11, body), lease_owner = NULL, "
                "lease_until = NULL, updated_at = $12, content_sid = COALESCE($15, content_sid), "
                "content_variables = COALESCE($16, content_variables) "
                "WHERE id = $13 AND status = 'claimed' AND lease_owner = $14 RETURNING 1",
                c.status, c.due_at, c.attempts, c.sid, c.delivery, c.error_code, c.error,
                c.segments, c.encoding, c.cost, c.body, c.at, message_id, owner, c.content_sid,
                c.content_variables,
            ))  # fmt: skip
            if done is None:
                return False
            await conn.execute(
                _HISTORY, message_id, c.at, c.event, c.status, c.sid, c.error_code, c.detail
            )
        return True

    async def apply_delivery(
        self, message_id: str | None, sid: str, status: str, error_code: int | None,
        at: datetime, retry_at: datetime | None = None,
    ) -> DeliveryUpdate | None:  # fmt: skip
        where, key = ("id = $1", message_id) if message_id else ("sid = $1", sid)
        async with self._connection() as conn, conn.transaction():
            found = await self._query(conn.fetchrow(
                f"SELECT {_COLUMNS} FROM outbox WHERE {where} LIMIT 1 FOR UPDATE", key
            ))  # fmt: skip
            if found is None:
                return None
            message = _message(found)
            same = message.sid == sid
            newer = not same and (message.sid is None or message.status == "claimed")
            current = message.delivery if same else None
            if not (same or newer) or not delivery_advances(current, status):
                event = "status-ignored" if same or newer else "status-stale"
                await conn.execute(_HISTORY, message.id, at, event, status, sid, error_code, {})
                return DeliveryUpdate(message, False)
            retry = retry_at is not None and status in FAILED_DELIVERY
            after = await conn.fetchrow(
                "UPDATE outbox SET delivery = $1, sid = $2, error_code = COALESCE($3, error_code), "
                "status = CASE WHEN $4 THEN 'pending' ELSE status END, "
                "due_at = CASE WHEN $4 THEN $5 ELSE due_at END, updated_at = $6 WHERE id = $7 "
                f"RETURNING {_COLUMNS}",
                status, sid, error_code, retry, retry_at, at, message.id,
            )  # fmt: skip
            await conn.execute(_HISTORY, message.id, at, "status", status, sid, error_code, {})
            if retry and retry_at is not None:
                await conn.execute(
                    _HISTORY, message.id, at, "retry", "pending", sid, error_code,
                    {"due_at": retry_at.isoformat()},
                )  # fmt: skip
        return DeliveryUpdate(_message(after), True)

    async def outbox_message(self, message_id: str) -> OutboundMessage | None:
        async with self._connection() as conn:
            row = await self._query(
                conn.fetchrow(f"SELECT {_COLUMNS} FROM outbox WHERE id = $1", message_id)
            )
        return _message(row) if row else None

    async def outbox_history(self, message_id: str) -> list[HistoryEntry]:
        async with self._connection() as conn:
            rows = await self._query(conn.fetch(
                "SELECT at, event, status, sid, code, detail FROM outbox_history "
                "WHERE message = $1 ORDER BY id", message_id,
            ))  # fmt: skip
        return [
            HistoryEntry(r["at"], r["event"], r["status"], r["sid"], r["code"], r["detail"])
            for r in rows
        ]

    async def delivery_report(self, by: str) -> list[DeliveryCount]:
        if by not in {"flow", "theirs"}:
            raise ValueError("a delivery report groups by 'flow' or 'theirs'")
        async with self._connection() as conn:
            rows = await self._query(conn.fetch(
                f"SELECT COALESCE({by}, ''), COALESCE(delivery, status), count(*) FROM outbox "
                "WHERE sid IS NOT NULL OR status IN ('failed', 'blocked') "
                "GROUP BY 1, 2 ORDER BY 1, 2"
            ))  # fmt: skip
        groups: dict[str, dict[str, int]] = {}
        for group, status, count in rows:
            groups.setdefault(group, {})[status] = count
        return [DeliveryCount(g, sum(c.values()), c) for g, c in groups.items()]

    async def mark_undeliverable(self, address: str, code: int, at: datetime) -> None:
        async with self._connection() as conn:
            await self._query(conn.execute(
                "INSERT INTO undeliverable (address, code, at) VALUES ($1, $2, $3) "
                "ON CONFLICT (address) DO UPDATE SET code = excluded.code, at = excluded.at",
                address, code, at,
            ))  # fmt: skip

    async def claim_timers(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Timer]:
        async with self._connection() as conn, conn.transaction():
            rows = await self._query(conn.fetch(
                "WITH picked AS (SELECT id FROM timers WHERE due_at <= $1 "
                "AND (lease_until IS NULL OR lease_until <= $1) ORDER BY due_at LIMIT $4 "
                "FOR UPDATE SKIP LOCKED) "
                "UPDATE timers t SET lease_owner = $2, lease_until = $3 FROM picked "
                f"WHERE t.id = picked.id RETURNING "
                f"{', '.join('t.' + c.strip() for c in _TIMER_COLUMNS.split(','))}",
                now, owner, lease_until, limit,
            ))  # fmt: skip
        return [_timer(row) for row in rows]

    async def finish_timer(self, timer: Timer) -> None:
        async with self._connection() as conn:
            await self._query(conn.execute(
                "DELETE FROM timers WHERE id = $1 AND due_at = $2", timer.id, timer.due_at
            ))  # fmt: skip
