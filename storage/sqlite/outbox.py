"""The outbox and timers on SQLite (mixed into :class:`storage.sqlite.SQLiteStore`).

Like the rest of the SQLite backend, each method is one hop to the connection's thread with
the whole transaction inside it. Claims select due rows and lease them in the same
``BEGIN IMMEDIATE`` transaction, the shape PostgreSQL runs as
``SELECT … FOR UPDATE SKIP LOCKED`` followed by the ``UPDATE``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

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
from storage.sqlite_tx import transaction

__all__ = ["SQLiteOutbox", "write_timers_and_outbox"]

R = TypeVar("R")

_OUTBOX_COLUMNS = (
    "id, conversation, flow, channel, ours, theirs, body, media, content_sid, content_variables, "
    "purpose, status, delivery, attempts, due_at, sid, error_code, error, segments, encoding, "
    "cost, created_at, template"
)
_TIMER_COLUMNS = (
    "id, conversation, name, trigger_name, flow, state, channel, ours, theirs, due_at, payload, "
    "created_at"
)


def _iso(when: datetime) -> str:
    """Timestamps as fixed-width UTC text, so comparing the strings compares the times."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _message(
    row: Sequence[Any], reclaimed: bool = False, undeliverable: int | None = None
) -> OutboundMessage:
    (mid, conv, flow, channel, ours, theirs, body, media, csid, cvars, purpose, status, delivery,
     attempts, due, sid, code, error, segments, encoding, cost, created,
     template) = row  # fmt: skip
    return OutboundMessage(
        id=mid, conversation=conv, flow=flow, channel=channel, ours=ours, theirs=theirs,
        body=body, media=tuple(json.loads(media)), content_sid=csid, content_variables=cvars,
        purpose=purpose, status=status, delivery=delivery, attempts=attempts,
        due_at=datetime.fromisoformat(due), sid=sid, error_code=code, error=error,
        segments=segments, encoding=encoding, cost=cost,
        created_at=datetime.fromisoformat(created), reclaimed=reclaimed, template=template,
        undeliverable=undeliverable,
    )  # fmt: skip


def _message_row(m: OutboundMessage) -> tuple[Any, ...]:
    return (
        m.id, m.conversation, m.flow, m.channel, m.ours, m.theirs, m.body, _dumps(list(m.media)),
        m.content_sid, m.content_variables, m.purpose, m.status, m.delivery, m.attempts,
        _iso(m.due_at), m.sid, m.error_code, m.error, m.segments, m.encoding, m.cost,
        _iso(m.created_at), m.template,
    )  # fmt: skip


def _timer(row: Sequence[Any]) -> Timer:
    _id, conv, name, trigger, flow, state, channel, ours, theirs, due, payload, _created = row
    return Timer(
        conversation=conv, name=name, trigger=trigger, flow=flow, state=state, channel=channel,
        ours=ours, theirs=theirs, due_at=datetime.fromisoformat(due), payload=json.loads(payload),
    )  # fmt: skip


def _history(
    conn: sqlite3.Connection, message: str, at: datetime, event: str, status: str | None,
    sid: str | None = None, code: int | None = None, detail: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    conn.execute(
        "INSERT INTO outbox_history (message, at, event, status, sid, code, detail) "
        "VALUES (?,?,?,?,?,?,?)",
        (message, _iso(at), event, status, sid, code, _dumps(detail or {})),
    )


def _enqueue(conn: sqlite3.Connection, messages: Sequence[OutboundMessage]) -> int:
    added = 0
    for m in messages:
        cur = conn.execute(
            f"INSERT INTO outbox ({_OUTBOX_COLUMNS}, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING",
            (*_message_row(m), _iso(m.created_at)),
        )
        if cur.rowcount:
            added += 1
            _history(conn, m.id, m.created_at, "queued", m.status, detail={"purpose": m.purpose})
    return added


def write_timers_and_outbox(conn: sqlite3.Connection, write: TurnWrite) -> None:
    """The outbound part of a turn's commit: messages, timers set, timers left behind.

    A fired timer is deleted even when its step was rolled back (it is not fired again);
    everything else is written only with the state.
    """
    fired = write.fired
    if fired is not None:
        conn.execute(
            "DELETE FROM timers WHERE id = ? AND due_at = ?", (fired.id, _iso(fired.due_at))
        )
    if not write.save_state:
        return
    _enqueue(conn, write.outbox)
    conversation, state = write.conversation.key, write.conversation.state
    timers = write.timers
    if write.conversation.closed:
        conn.execute("DELETE FROM timers WHERE conversation = ?", (conversation,))
        return
    if write.moved:  # leaving a state cancels the timers bound to it
        conn.execute(
            "DELETE FROM timers WHERE conversation = ? AND state IS NOT NULL AND state <> ?",
            (conversation, state),
        )
    for t in timers:
        conn.execute(
            f"INSERT INTO timers ({_TIMER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (id) DO UPDATE SET trigger_name = excluded.trigger_name, "
            "flow = excluded.flow, state = excluded.state, due_at = excluded.due_at, "
            "payload = excluded.payload, lease_owner = NULL, lease_until = NULL",
            (t.id, t.conversation, t.name, t.trigger, t.flow, t.state, t.channel, t.ours,
             t.theirs, _iso(t.due_at), _dumps(t.payload), _iso(t.due_at)),
        )  # fmt: skip


class SQLiteOutbox(OutboxStore):
    """Outbox and timer methods; needs the host class's ``_run``."""

    _run: Callable[..., Any]

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> int:
        added: int = await self._run(transaction, lambda conn: _enqueue(conn, messages))
        return added

    async def claim_outbox(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboundMessage]:
        columns = ", ".join("o." + c.strip() for c in _OUTBOX_COLUMNS.split(","))
        select = (
            f"SELECT {columns}, u.code FROM outbox o "
            "LEFT JOIN undeliverable u ON u.address = o.theirs "
        )

        def claim(conn: sqlite3.Connection) -> list[OutboundMessage]:
            stamp = _iso(now)
            # Two index range scans (outbox_due, outbox_lease) rather than one OR, which would
            # sort the whole backlog; PostgreSQL runs each with FOR UPDATE SKIP LOCKED.
            rows = conn.execute(
                select + "WHERE o.status = 'pending' AND o.due_at <= ? ORDER BY o.due_at LIMIT ?",
                (stamp, limit),
            ).fetchall()
            if len(rows) < limit:
                rows += conn.execute(
                    select + "WHERE o.status = 'claimed' AND o.lease_until <= ? "
                    "ORDER BY o.lease_until LIMIT ?",
                    (stamp, limit - len(rows)),
                ).fetchall()
            conn.executemany(
                "UPDATE outbox SET status = 'claimed', lease_owner = ?, lease_until = ? "
                "WHERE id = ?",
                [(owner, _iso(lease_until), row[0]) for row in rows],
            )
            return [_message(row[:-1], row[11] == "claimed", row[-1]) for row in rows]

        claimed: list[OutboundMessage] = await self._run(transaction, claim)
        return claimed

    async def update_outbox(self, message_id: str, owner: str, change: OutboxChange) -> bool:
        def update(conn: sqlite3.Connection) -> bool:
            c = change
            cur = conn.execute(
                "UPDATE outbox SET status = ?, due_at = COALESCE(?, due_at), "
                "attempts = COALESCE(?, attempts), sid = COALESCE(?, sid), "
                "delivery = CASE WHEN ? IS NULL OR sid IS ? THEN delivery ELSE ? END, "
                "error_code = ?, error = ?, "
                "segments = COALESCE(?, segments), encoding = COALESCE(?, encoding), "
                "cost = COALESCE(?, cost), body = COALESCE(?, body), "
                "content_sid = COALESCE(?, content_sid), "
                "content_variables = COALESCE(?, content_variables), lease_owner = NULL, "
                "lease_until = NULL, updated_at = ? "
                "WHERE id = ? AND status = 'claimed' AND lease_owner = ?",
                (c.status, c.due_at and _iso(c.due_at), c.attempts, c.sid, c.delivery, c.sid,
                 c.delivery, c.error_code, c.error, c.segments, c.encoding, c.cost, c.body,
                 c.content_sid, c.content_variables,
                 _iso(c.at), message_id, owner),
            )  # fmt: skip
            if cur.rowcount != 1:
                return False
            _history(conn, message_id, c.at, c.event, c.status, c.sid, c.error_code, c.detail)
            return True

        done: bool = await self._run(transaction, update)
        return done

    async def apply_delivery(
        self, message_id: str | None, sid: str, status: str, error_code: int | None,
        at: datetime, retry_at: datetime | None = None,
    ) -> DeliveryUpdate | None:  # fmt: skip
        def apply(conn: sqlite3.Connection) -> DeliveryUpdate | None:
            where, key = ("id = ?", message_id) if message_id else ("sid = ?", sid)
            row = conn.execute(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE {where}", (key,))
            found = row.fetchone()
            if found is None:
                return None
            message = _message(found)
            same = message.sid == sid
            # a callback for an attempt whose create answer we have not stored yet
            newer = not same and (message.sid is None or message.status == "claimed")
            current = message.delivery if same else None
            if not (same or newer) or not delivery_advances(current, status):
                event = "status-ignored" if same or newer else "status-stale"
                _history(conn, message.id, at, event, status, sid, error_code)
                return DeliveryUpdate(message, False)
            retry = retry_at is not None and status in FAILED_DELIVERY
            conn.execute(
                "UPDATE outbox SET delivery = ?, sid = ?, error_code = COALESCE(?, error_code), "
                "status = CASE WHEN ? THEN 'pending' ELSE status END, "
                "due_at = CASE WHEN ? THEN ? ELSE due_at END, updated_at = ? WHERE id = ?",
                (status, sid, error_code, retry, retry, retry_at and _iso(retry_at), _iso(at),
                 message.id),
            )  # fmt: skip
            _history(conn, message.id, at, "status", status, sid, error_code)
            if retry and retry_at is not None:
                _history(conn, message.id, at, "retry", "pending", sid, error_code,
                         {"due_at": _iso(retry_at)})  # fmt: skip
            after = conn.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id = ?", (message.id,)
            ).fetchone()
            return DeliveryUpdate(_message(after), True)

        result: DeliveryUpdate | None = await self._run(transaction, apply)
        return result

    async def outbox_message(self, message_id: str) -> OutboundMessage | None:
        def read(conn: sqlite3.Connection) -> OutboundMessage | None:
            row = conn.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id = ?", (message_id,)
            ).fetchone()
            return _message(row) if row else None

        found: OutboundMessage | None = await self._run(read)
        return found

    async def outbox_history(self, message_id: str) -> list[HistoryEntry]:
        def read(conn: sqlite3.Connection) -> list[HistoryEntry]:
            rows = conn.execute(
                "SELECT at, event, status, sid, code, detail FROM outbox_history "
                "WHERE message = ? ORDER BY id",
                (message_id,),
            ).fetchall()
            return [
                HistoryEntry(datetime.fromisoformat(at), event, status, sid, code, json.loads(d))
                for at, event, status, sid, code, d in rows
            ]

        found: list[HistoryEntry] = await self._run(read)
        return found

    async def delivery_report(self, by: str) -> list[DeliveryCount]:
        if by not in {"flow", "theirs"}:
            raise ValueError("a delivery report groups by 'flow' or 'theirs'")

        def read(conn: sqlite3.Connection) -> list[DeliveryCount]:
            rows = conn.execute(
                f"SELECT COALESCE({by}, ''), COALESCE(delivery, status), COUNT(*) FROM outbox "
                f"WHERE sid IS NOT NULL OR status IN ('failed', 'blocked') "
                f"GROUP BY 1, 2 ORDER BY 1, 2"
            ).fetchall()
            groups: dict[str, dict[str, int]] = {}
            for group, status, count in rows:
                groups.setdefault(group, {})[status] = count
            return [DeliveryCount(g, sum(c.values()), c) for g, c in groups.items()]

        found: list[DeliveryCount] = await self._run(read)
        return found

    async def mark_undeliverable(self, address: str, code: int, at: datetime) -> None:
        await self._run(
            transaction,
            lambda conn: conn.execute(
                "INSERT INTO undeliverable (address, code, at) VALUES (?,?,?) "
                "ON CONFLICT (address) DO UPDATE SET code = excluded.code, at = excluded.at",
                (address, code, _iso(at)),
            ),
        )

    async def claim_timers(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Timer]:
        def claim(conn: sqlite3.Connection) -> list[Timer]:
            stamp = _iso(now)
            rows = conn.execute(
                f"SELECT {_TIMER_COLUMNS} FROM timers WHERE due_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at, id LIMIT ?",
                (stamp, stamp, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE timers SET lease_owner = ?, lease_until = ? WHERE id = ?",
                [(owner, _iso(lease_until), row[0]) for row in rows],
            )
            return [_timer(row) for row in rows]

        claimed: list[Timer] = await self._run(transaction, claim)
        return claimed

    async def finish_timer(self, timer: Timer) -> None:
        await self._run(
            transaction,
            lambda conn: conn.execute(
                "DELETE FROM timers WHERE id = ? AND due_at = ?",
                (timer.id, _iso(timer.due_at)),
            ),
        )
