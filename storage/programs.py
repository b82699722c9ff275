"""Store operations written once, sans I/O: generators that yield ``(sql, args)`` and receive rows.

A backend drives a program inside one transaction (:meth:`storage.backend.Backend.run`):
SQLite on its connection's thread, PostgreSQL with an ``await`` per statement. The SQL uses
``?`` placeholders and the :class:`~storage.dialect.Dialect` for what differs. The hot path
of a turn (load, contact, commit) and the set-based claims stay in each backend.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

import storage.schema as S
from storage.dialect import Dialect
from storage.records import (
    Attempt,
    AttemptStart,
    ConsentChange,
    Conversation,
    DeliveryCount,
    DeliveryUpdate,
    HistoryEntry,
    LogEntry,
    OutboundMessage,
    OutboxChange,
    Timer,
)
from storage.rules import WAITING, decide_delivery, group_report, window_closes

__all__ = [
    "MOVED_ON",
    "Program",
    "Query",
    "apply_delivery",
    "begin_attempt",
    "close_window",
    "consent_history",
    "contact_zone",
    "delivery_report",
    "finish_timer",
    "history",
    "log",
    "mark_undeliverable",
    "outbox_history",
    "outbox_message",
    "outbox_sids",
    "ping",
    "record_consent",
    "set_contact_zone",
    "update_outbox",
]

R = TypeVar("R")
Query = tuple[str, tuple[Any, ...]]
Program = Generator[Query, list[S.Row], R]

_OUTBOX = f"SELECT {S.columns(S.OUTBOX_READ)} FROM outbox"
_HISTORY = "INSERT INTO outbox_history (message, at, event, status, sid, code, detail) "
_HISTORY += "VALUES (?,?,?,?,?,?,?)"


def ping() -> Program[bool]:
    """Whether the database answers a trivial query."""
    rows = yield "SELECT 1", ()
    return bool(rows and rows[0][0] == 1)


def history(d: Dialect, theirs: str, exclude: str, limit: int) -> Program[list[Conversation]]:
    """The latest conversations with ``theirs`` but ``exclude``, newest first."""
    rows = yield (
        f"SELECT {S.columns(S.CONVERSATION)} FROM conversations WHERE theirs = ? AND key <> ? "
        "ORDER BY updated_at DESC, version DESC LIMIT ?",
        (theirs, exclude, limit),
    )
    return [S.conversation(row, d) for row in rows]


def log(d: Dialect, key: str) -> Program[list[LogEntry]]:
    """A conversation's message log, oldest first."""
    sql = f"SELECT {S.columns(S.LOG)} FROM message_log WHERE conversation = ? ORDER BY id"
    rows = yield sql, (key,)
    return [S.log_entry(row, d) for row in rows]


def record_consent(d: Dialect, change: ConsentChange) -> Program[None]:
    """Append ``change`` to the consent ledger."""
    c = change
    yield (
        f"INSERT INTO consent_ledger ({S.columns(S.CONSENT)}) VALUES ({S.marks(S.CONSENT)})",
        (c.person, c.scope, str(c.status), str(c.source), d.stamp(c.at), c.channel, c.detail),
    )


def replace_consent(d: Dialect, change: ConsentChange) -> Program[str | None]:
    """Append ``change`` to the consent ledger; the status of the scope's latest entry before
    it (``None``: none), read in the same transaction as the append."""
    rows = yield (
        "SELECT status FROM consent_ledger WHERE person = ? AND scope = ? ORDER BY id DESC LIMIT 1",
        (change.person, change.scope),
    )
    yield from record_consent(d, change)
    return str(rows[0][0]) if rows else None


def consent_history(d: Dialect, person: str) -> Program[list[ConsentChange]]:
    """Every consent change of ``person``, oldest first."""
    sql = f"SELECT {S.columns(S.CONSENT)} FROM consent_ledger WHERE person = ? ORDER BY id"
    rows = yield sql, (person,)
    return [S.consent_change(row, d) for row in rows]


def close_window(d: Dialect, window: str, at: datetime) -> Program[bool]:
    """Close ``window`` unless they wrote after ``at``; whether it was open before."""
    yield "INSERT INTO whatsapp_windows (conversation) VALUES (?) ON CONFLICT DO NOTHING", (window,)
    rows = yield (
        f"SELECT last_inbound FROM whatsapp_windows WHERE conversation = ?{d.lock}",
        (window,),
    )
    last = None if rows[0][0] is None else d.read_time(rows[0][0])
    if not window_closes(last, at):
        return False  # they wrote after the failed send: the window is open again
    yield (
        "UPDATE whatsapp_windows SET last_inbound = NULL, closed_at = ? WHERE conversation = ?",
        (d.stamp(at), window),
    )
    return last is not None


def outbox_message(d: Dialect, message_id: str) -> Program[OutboundMessage | None]:
    """One stored message."""
    rows = yield f"{_OUTBOX} WHERE id = ?", (message_id,)
    return S.message(rows[0], d) if rows else None


def outbox_history(d: Dialect, message_id: str) -> Program[list[HistoryEntry]]:
    """A message's history, oldest first."""
    sql = f"SELECT {S.columns(S.HISTORY)} FROM outbox_history WHERE message = ? ORDER BY id"
    rows = yield sql, (message_id,)
    return [S.history_entry(row, d) for row in rows]


def delivery_report(by: str) -> Program[list[DeliveryCount]]:
    """Every outbox message by its latest status, per ``flow`` or ``theirs`` (a column name:
    the caller checks it is one of :data:`~storage.rules.REPORT_GROUPS`): Twilio's delivery
    status once it has one, else the outbox's (``pending``: not sent yet, held for quiet
    hours included; :data:`~storage.rules.WAITING`: pending while Twilio is away)."""
    rows = yield (
        f"SELECT COALESCE({by}, ''), COALESCE(delivery, CASE WHEN status = 'pending' "
        f"AND error LIKE '{WAITING}%' THEN '{WAITING}' ELSE status END), COUNT(*) FROM outbox "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        (),
    )
    return group_report((group, status, count) for group, status, count in rows)


def mark_undeliverable(d: Dialect, address: str, code: int, at: datetime) -> Program[None]:
    """Record that ``address`` cannot receive messages."""
    yield (
        "INSERT INTO undeliverable (address, code, at) VALUES (?,?,?) "
        "ON CONFLICT (address) DO UPDATE SET code = excluded.code, at = excluded.at",
        (address, code, d.utc(at)),
    )


MOVED_ON = "not fired: its conversation had moved on"


def finish_timer(d: Dialect, timer: Timer, reason: str = MOVED_ON) -> Program[bool]:
    """Delete a timer unless it was rescheduled meanwhile. One still here was not fired (its
    conversation moved on, its step failed, its flow is not deployed): its history says it
    was dropped and why (``reason``), at the time it was due (it is claimed once due).
    True when it was still there (dropped here), False when its step deleted it (fired)."""
    gone = yield (
        "DELETE FROM timers WHERE id = ? AND due_at = ? RETURNING name",
        (timer.id, d.utc(timer.due_at)),
    )
    if gone:
        yield (
            "INSERT INTO timer_history (conversation, at, event, name, trigger_name, state, "
            "due_at, reason) VALUES (?,?,?,?,?,?,?,?)",
            (timer.conversation, d.utc(timer.due_at), "cancelled", timer.name, timer.trigger,
             timer.state, d.utc(timer.due_at), reason),
        )  # fmt: skip
    return bool(gone)


def _history(
    d: Dialect, message: str, at: datetime, event: str, status: str | None,
    sid: str | None = None, code: int | None = None, detail: dict[str, Any] | None = None,
) -> Query:  # fmt: skip
    return _HISTORY, (message, d.utc(at), event, status, sid, code, d.json(detail or {}))


@cache
def _update_sql(d: Dialect, with_delivery: bool) -> str:
    delivery = f"CASE WHEN sid {d.same} ? THEN delivery ELSE ? END" if with_delivery else "delivery"
    return (
        "UPDATE outbox SET status = ?, due_at = COALESCE(?, due_at), "
        "attempts = COALESCE(?, attempts), sid = COALESCE(?, sid), "
        f"delivery = {delivery}, error_code = ?, error = ?, "
        "segments = COALESCE(?, segments), encoding = COALESCE(?, encoding), "
        "cost = COALESCE(?, cost), body = COALESCE(?, body), "
        "content_sid = COALESCE(?, content_sid), "
        "content_variables = COALESCE(?, content_variables), http_status = ?, "
        "attempt_at = CASE WHEN ? THEN NULL ELSE attempt_at END, lease_owner = NULL, "
        "lease_until = NULL, updated_at = ? "
        f"WHERE id = ? AND status = 'claimed' AND lease_owner = ?{d.changed}"
    )


def update_outbox(d: Dialect, message_id: str, owner: str, change: OutboxChange) -> Program[bool]:
    """Write a claimed message's outcome and history; False if ``owner`` lost the lease."""
    c = change
    # a delivery status given with the send belongs to its sid: kept if the sid did not change
    delivery = (c.sid, c.delivery) if c.delivery is not None else ()
    rows = yield (
        _update_sql(d, c.delivery is not None),
        (str(c.status), c.due_at and d.utc(c.due_at), c.attempts, c.sid, *delivery,
         c.error_code, c.error, c.segments, c.encoding, c.cost, c.body, c.content_sid,
         c.content_variables, c.http_status, c.settled, d.utc(c.at), message_id, owner),
    )  # fmt: skip
    if len(rows) != 1:
        return False
    yield _history(d, message_id, c.at, c.event, c.status, c.sid, c.error_code, c.detail)
    return True


def apply_delivery(
    d: Dialect, message_id: str | None, sid: str, status: str, error_code: int | None,
    at: datetime, retry_at: datetime | None,
) -> Program[DeliveryUpdate | None]:  # fmt: skip
    """Apply a MessageStatus monotonically (see :func:`storage.rules.decide_delivery`)."""
    where, key = ("id = ?", message_id) if message_id else ("sid = ?", sid)
    rows = yield f"{_OUTBOX} WHERE {where} LIMIT 1{d.lock}", (key,)
    if not rows:
        return None
    message = S.message(rows[0], d)
    decision = decide_delivery(message, sid, status, retry_at)
    if not decision.applies:
        yield _history(d, message.id, at, decision.event, status, sid, error_code)
        return DeliveryUpdate(message, False)
    retry = ", status = 'pending', due_at = ?" if decision.retry else ""
    args: tuple[Any, ...] = (status, sid, error_code)
    args += (d.utc(retry_at),) if decision.retry and retry_at is not None else ()
    after = yield (
        "UPDATE outbox SET delivery = ?, sid = ?, error_code = COALESCE(?, error_code)"
        f"{retry}, updated_at = ? WHERE id = ? RETURNING {S.columns(S.OUTBOX_READ)}",
        (*args, d.utc(at), message.id),
    )
    yield _history(d, message.id, at, decision.event, status, sid, error_code)
    if decision.retry and retry_at is not None:
        detail = {"due_at": d.detail_time(retry_at)}
        yield _history(d, message.id, at, "retry", "pending", sid, error_code, detail)
    return DeliveryUpdate(S.message(after[0], d), True)


_OPTED_OUT = (
    " AND COALESCE((SELECT status FROM consent_ledger WHERE person = ? AND scope = ? "
    "ORDER BY id DESC LIMIT 1), 'opted_in') <> 'opted_out'"
)


def begin_attempt(
    d: Dialect, message_id: str, owner: str, attempt: Attempt,
) -> Program[AttemptStart]:  # fmt: skip
    """Record an attempt's exact request and start time before Twilio is called.

    In one transaction: the row must still be leased to ``owner`` and, when
    ``attempt.consent`` names a (person, scope), the ledger's latest entry for them must not
    be an opt-out, as committed now. A STOP committed before this wins; the REST call starts
    only after it returns :attr:`AttemptStart.STARTED`.
    """
    a = attempt
    guard, extra = (_OPTED_OUT, a.consent) if a.consent is not None else ("", ())
    rows = yield (
        "UPDATE outbox SET wire = ?, attempt_at = ?, attempts = ?, updated_at = ? "
        f"WHERE id = ? AND status = 'claimed' AND lease_owner = ?{guard}{d.changed}",
        (d.json(dict(a.wire)), d.utc(a.at), a.number, d.utc(a.at), message_id, owner, *extra),
    )
    if len(rows) == 1:
        detail = {"attempt": a.number}
        yield _history(d, message_id, a.at, "attempt", "claimed", None, None, detail)
        return AttemptStart.STARTED
    held = yield (
        "SELECT 1 FROM outbox WHERE id = ? AND status = 'claimed' AND lease_owner = ?",
        (
            message_id,
            owner,
        ),
    )
    return AttemptStart.OPTED_OUT if held else AttemptStart.LOST_LEASE


def outbox_sids(sids: tuple[str, ...]) -> Program[set[str]]:
    """Which of ``sids`` belong to a stored message (so a lookup does not claim them twice)."""
    if not sids:
        return set()
    rows = yield f"SELECT sid FROM outbox WHERE sid IN ({','.join('?' * len(sids))})", sids
    return {row[0] for row in rows}


def set_contact_zone(d: Dialect, person: str, zone: str | None, at: datetime) -> Program[None]:
    """Record ``person``'s own time zone (None: forget it, their number's applies again)."""
    if zone is None:
        yield "DELETE FROM contact_zones WHERE person = ?", (person,)
        return
    yield (
        "INSERT INTO contact_zones (person, zone, at) VALUES (?,?,?) ON CONFLICT (person) "
        "DO UPDATE SET zone = excluded.zone, at = excluded.at",
        (person, zone, d.stamp(at)),
    )


def contact_zone(person: str) -> Program[str | None]:
    """``person``'s own time zone, if one was recorded."""
    rows = yield "SELECT zone FROM contact_zones WHERE person = ?", (person,)
    return str(rows[0][0]) if rows else None
