"""The outbox and timers on SQLite: the set-based writes (enqueue, a turn's outbound part,
the claims). The rest of the outbox is written once, in :mod:`storage.programs`.

Claims select due rows and lease them in the same ``BEGIN IMMEDIATE`` transaction, the shape
PostgreSQL runs as ``SELECT … FOR UPDATE SKIP LOCKED`` followed by the ``UPDATE``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from types import MappingProxyType

import storage.schema as S
from storage.dialect import SQLITE, dumps, utc_text
from storage.history import TimerEvent
from storage.records import OutboundMessage, Timer, TurnWrite

__all__ = ["TIMERLESS", "claim_outbox", "claim_timers", "enqueue", "write_timers_and_outbox"]

# Conversations seen without timers, each at the version read (``turns.load``), set by the
# store around its commits. A timer is only ever inserted by the commit that moves its
# conversation to a new version (``write_timers_and_outbox``, after the version guard), so a
# conversation seen without timers at version v has none for as long as it stays at v: a turn
# committing version v + 1 (the guard holds, or the turn rolls back) has no timers to drop,
# and skips the DELETE that every turn leaving a state ran matching nothing (issue 18).
TIMERLESS: ContextVar[Mapping[str, int]] = ContextVar("TIMERLESS", default=MappingProxyType({}))

_ENQUEUE = (
    f"INSERT INTO outbox ({S.columns(S.OUTBOX)}, updated_at) "
    f"VALUES ({S.marks(S.OUTBOX)},?) ON CONFLICT (id) DO NOTHING"
)
_HISTORY = (
    "INSERT INTO outbox_history (message, at, event, status, sid, code, detail) "
    "VALUES (?,?,?,?,?,?,?)"
)
_SET_TIMER = (
    f"INSERT INTO timers ({S.columns(S.TIMER)}) VALUES ({S.marks(S.TIMER)}) "
    "ON CONFLICT (id) DO UPDATE SET trigger_name = excluded.trigger_name, "
    "flow = excluded.flow, state = excluded.state, due_at = excluded.due_at, "
    "payload = excluded.payload, lease_owner = NULL, lease_until = NULL"
)
_TIMER_HISTORY = (
    "INSERT INTO timer_history (conversation, at, event, name, trigger_name, state, due_at, "
    "reason) VALUES (?,?,?,?,?,?,?,?)"
)
_DROPPED = "RETURNING name, trigger_name, state, due_at"
_CLAIM = (
    f"SELECT {S.columns(S.OUTBOX_READ, 'o')}, u.code FROM outbox o "
    "LEFT JOIN undeliverable u ON u.address = o.theirs "
)


def _message_row(m: OutboundMessage) -> tuple[object, ...]:
    return (
        m.id, m.conversation, m.flow, m.channel, m.ours, m.theirs, m.body, dumps(list(m.media)),
        m.content_sid, m.content_variables, m.purpose, m.status, m.delivery, m.attempts,
        utc_text(m.due_at), m.sid, m.error_code, m.error, m.segments, m.encoding, m.cost,
        utc_text(m.created_at), m.template,
    )  # fmt: skip


def enqueue(conn: sqlite3.Connection, messages: Sequence[OutboundMessage]) -> int:
    """Insert the messages not stored yet, each with a "queued" history entry; how many."""
    added = 0
    for m in messages:
        if conn.execute(_ENQUEUE, (*_message_row(m), utc_text(m.created_at))).rowcount:
            added += 1
            detail = dumps({"purpose": m.purpose})
            at = utc_text(m.created_at)
            conn.execute(_HISTORY, (m.id, at, "queued", m.status, None, None, detail))
    return added


def _drop(
    conn: sqlite3.Connection, write: TurnWrite, event: TimerEvent, reason: str | None,
    where: str, args: tuple[object, ...],
) -> None:  # fmt: skip
    """Delete the timers ``where`` selects, each with a history entry."""
    rows = conn.execute(f"DELETE FROM timers WHERE {where} {_DROPPED}", args).fetchall()
    if rows:  # nearly always none: the statement alone cost 4 µs
        at, key = utc_text(write.at), write.conversation.key
        conn.executemany(_TIMER_HISTORY, [(key, at, event.value, *row, reason) for row in rows])


def write_timers_and_outbox(conn: sqlite3.Connection, write: TurnWrite) -> None:
    """The outbound part of a turn's commit: messages, timers set, timers left behind, each
    timer change with its history entry (``storage.history``).

    A fired timer is deleted even when its step was rolled back (it is not fired again);
    everything else is written only with the state.
    """
    fired, by = write.fired, write.dropped_by
    if fired is not None:
        event = TimerEvent.FIRED if by is None else TimerEvent.CANCELLED
        reason = None if by is None else f"operator {by}"
        _drop(conn, write, event, reason, "id = ? AND due_at = ?",
              (fired.id, utc_text(fired.due_at)))  # fmt: skip
    if not write.save_state:
        return
    enqueue(conn, write.outbox)
    conversation, state = write.conversation.key, write.conversation.state
    bare = TIMERLESS.get().get(conversation) == write.conversation.version - 1  # none to drop
    if write.conversation.closed:
        if not bare:
            _drop(conn, write, TimerEvent.CANCELLED, "closed", "conversation = ?", (conversation,))
        return
    if bare:
        pass
    elif write.clear_timers:  # a call, a return, a dropped stack (TurnWrite)
        reason = "call stack changed"
        _drop(conn, write, TimerEvent.CANCELLED, reason, "conversation = ?", (conversation,))
    elif write.moved:  # leaving a state (of its flow: subflows) cancels the timers bound to it
        bound = "conversation = ? AND state IS NOT NULL AND (state <> ? OR flow <> ?)"
        flow = write.conversation.flow
        _drop(conn, write, TimerEvent.CANCELLED, "left state", bound, (conversation, state, flow))
    at = utc_text(write.at)
    for t in write.timers:
        due = utc_text(t.due_at)
        conn.execute(
            _SET_TIMER,
            (t.id, t.conversation, t.name, t.trigger, t.flow, t.state, t.channel, t.ours,
             t.theirs, due, dumps(t.payload), due),
        )  # fmt: skip
        conn.execute(_TIMER_HISTORY, (t.conversation, at, "set", t.name, t.trigger, t.state,
                                      due, None))  # fmt: skip


def claim_outbox(
    conn: sqlite3.Connection, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[OutboundMessage]:
    """Lease due messages, then those whose lease ran out, up to ``limit`` (in a transaction)."""
    stamp = utc_text(now)
    # Two index range scans (outbox_due, outbox_lease) rather than one OR, which would
    # sort the whole backlog; PostgreSQL runs each with FOR UPDATE SKIP LOCKED.
    rows = conn.execute(
        _CLAIM + "WHERE o.status = 'pending' AND o.due_at <= ? ORDER BY o.due_at LIMIT ?",
        (stamp, limit),
    ).fetchall()
    if len(rows) < limit:
        rows += conn.execute(
            _CLAIM + "WHERE o.status = 'claimed' AND o.lease_until <= ? "
            "ORDER BY o.lease_until LIMIT ?",
            (stamp, limit - len(rows)),
        ).fetchall()
    conn.executemany(
        "UPDATE outbox SET status = 'claimed', lease_owner = ?, lease_until = ? WHERE id = ?",
        [(owner, utc_text(lease_until), row[0]) for row in rows],
    )
    return [S.message(row, SQLITE, row[11] == "claimed", row[-1]) for row in rows]


def claim_timers(
    conn: sqlite3.Connection, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[Timer]:
    """Lease due timers (and those whose lease ran out), up to ``limit`` (in a transaction)."""
    stamp = utc_text(now)
    rows = conn.execute(
        f"SELECT {S.columns(S.TIMER)} FROM timers WHERE due_at <= ? "
        "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at, id LIMIT ?",
        (stamp, stamp, limit),
    ).fetchall()
    conn.executemany(
        "UPDATE timers SET lease_owner = ?, lease_until = ? WHERE id = ?",
        [(owner, utc_text(lease_until), row[0]) for row in rows],
    )
    return [S.timer(row, SQLITE) for row in rows]
