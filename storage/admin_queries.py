"""What operators read and the few rows they change outside a turn (issue 12), as programs.

Written once for both backends like :mod:`storage.programs` (kept apart so the admin API's
queries live in one place): the list and search of conversations, paged newest first by
``(updated_at, key)``; per-state counts; one conversation's timers and their history, outbox
rows and window; the audit log; change marks for the live stream; and an outbox row retried or
cancelled by an operator (guarded by its status, with a history entry and, through
:func:`audited`, its audit entry in the same transaction). State, data and timers are changed
only through a turn's commit (its version guard), never here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

import storage.schema as S
from storage.dialect import Dialect
from storage.history import AuditEntry, TimerChange, TimerEvent
from storage.programs import Program
from storage.records import Conversation, OutboundMessage, Timer

__all__ = [
    "AuditEntry",
    "Cursor",
    "Runner",
    "Search",
    "StateCount",
    "TimerChange",
    "Window",
    "audit",
    "audited",
    "cancel_outbox",
    "change_mark",
    "conversation_outbox",
    "conversation_timers",
    "record_audit",
    "retry_outbox",
    "search",
    "state_counts",
    "timer_history",
    "window",
]

R = TypeVar("R")


class Runner(Protocol):
    """A backend that drives programs (every :class:`storage.backend.Backend`)."""

    @property
    def dialect(self) -> Dialect: ...

    async def run(
        self, program: Program[R], *, atomic: bool = True, statement_timeout_s: float | None = None
    ) -> R: ...


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last row's ``updated_at`` and ``key``."""

    updated_at: datetime
    key: str


@dataclass(frozen=True, slots=True)
class Search:
    """A list query. ``theirs`` are the exact addresses to match (already normalised);
    ``closed`` None for both; ``idle_before`` keeps those not updated since then ("stuck")."""

    flow: str | None = None
    state: str | None = None
    channel: str | None = None
    theirs: tuple[str, ...] = ()
    closed: bool | None = None
    idle_before: datetime | None = None
    after: Cursor | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class StateCount:
    """Open conversations of one flow in one state, and how many of them idle past a cutoff."""

    flow: str
    state: str
    open: int
    idle: int


@dataclass(frozen=True, slots=True)
class Window:
    """A WhatsApp conversation's 24-hour window as stored."""

    last_inbound: datetime | None
    closed_at: datetime | None


_AUDIT = ("at", "operator", "action", "conversation", "target", "before", "after")


def _where(d: Dialect, s: Search) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("flow", s.flow), ("state", s.state), ("channel", s.channel)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if s.theirs:
        where.append(f"theirs IN ({','.join('?' * len(s.theirs))})")
        args += s.theirs
    if s.closed is not None:
        where.append("closed = ?")
        args.append(s.closed)
    # The indexes hold the minute of updated_at (migration 0018): a range of minutes from the
    # index, the exact time only within the boundary minute.
    if s.idle_before is not None:
        minute = d.minute(s.idle_before)
        where.append("active_minute <= ? AND (active_minute < ? OR updated_at < ?)")
        args += [minute, minute, d.stamp(s.idle_before)]
    if s.after is not None:  # a row value: a range of the index, not a walk down to it
        minute = d.minute(s.after.updated_at)
        where.append("active_minute <= ? AND (active_minute < ? OR (updated_at, key) < (?, ?))")
        args += [minute, minute, d.stamp(s.after.updated_at), s.after.key]
    return where, args


# The index gives the minutes in order; only each minute's rows are sorted (exact order).
_NEWEST = "ORDER BY active_minute DESC, updated_at DESC, key DESC LIMIT ?"


def search(d: Dialect, s: Search) -> Program[list[Conversation]]:
    """One page of conversations matching ``s``, newest first (by ``updated_at``, ``key``).

    Open or closed alike (and neither a number nor a channel to go by) is the newest keys of
    the open ones and of the closed ones merged, then their rows: two range scans of
    ``conversations_open`` (or ``conversations_state``), so no index on ``(updated_at, key)``
    alone is needed, which every turn's commit rewrote (issue 18)."""
    if s.closed is not None or s.theirs or s.channel is not None:
        where, args = _where(d, s)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {S.columns(S.CONVERSATION)} FROM conversations{clause} {_NEWEST}"
        rows = yield sql, (*args, s.limit)
        return [S.conversation(row, d) for row in rows]
    parts, args = [], []
    for name, closed in (("open_page", False), ("closed_page", True)):
        where, found = _where(d, replace(s, closed=closed))
        parts.append(
            f"SELECT * FROM (SELECT active_minute, updated_at, key FROM conversations "
            f"WHERE {' AND '.join(where)} {_NEWEST}) AS {name}"
        )
        args += [*found, s.limit]
    rows = yield (
        f"SELECT {S.columns(S.CONVERSATION, 'v')} FROM ({' UNION ALL '.join(parts)} {_NEWEST}) "
        "AS page JOIN conversations v ON v.key = page.key "
        "ORDER BY page.active_minute DESC, page.updated_at DESC, page.key DESC",
        (*args, s.limit),
    )
    return [S.conversation(row, d) for row in rows]


def state_counts(d: Dialect, idle_before: datetime) -> Program[list[StateCount]]:
    """Open conversations per flow and state, and how many have idled since ``idle_before``
    (the exact time read only for the rows of its minute)."""
    minute = d.minute(idle_before)
    rows = yield (
        "SELECT flow, state, COUNT(*), SUM(CASE WHEN active_minute < ? THEN 1 "
        "WHEN active_minute > ? THEN 0 WHEN updated_at < ? THEN 1 ELSE 0 END) "
        "FROM conversations WHERE closed = ? GROUP BY flow, state ORDER BY flow, state",
        (minute, minute, d.stamp(idle_before), False),
    )
    return [StateCount(f, st, int(n), int(idle or 0)) for f, st, n, idle in rows]


def conversation_timers(d: Dialect, key: str) -> Program[list[Timer]]:
    """A conversation's pending timers, soonest first."""
    rows = yield (
        f"SELECT {S.columns(S.TIMER)} FROM timers WHERE conversation = ? ORDER BY due_at, id",
        (key,),
    )
    return [S.timer(row, d) for row in rows]


def conversation_outbox(d: Dialect, key: str, limit: int = 200) -> Program[list[OutboundMessage]]:
    """A conversation's latest outbox rows, oldest first."""
    rows = yield (
        f"SELECT {S.columns(S.OUTBOX_READ)} FROM outbox WHERE conversation = ? "
        "ORDER BY created_at DESC, id DESC LIMIT ?",
        (key, limit),
    )
    return [S.message(row, d) for row in reversed(rows)]


def window(d: Dialect, key: str) -> Program[Window | None]:
    """The stored WhatsApp window of conversation ``key``."""
    rows = yield (
        "SELECT last_inbound, closed_at FROM whatsapp_windows WHERE conversation = ?",
        (key,),
    )
    if not rows:
        return None
    last, closed = rows[0]
    return Window(
        None if last is None else d.read_time(last), None if closed is None else d.read_time(closed)
    )


def record_audit(d: Dialect, entry: AuditEntry) -> Program[None]:
    """Append ``entry`` to the audit log."""
    e = entry
    yield (
        f"INSERT INTO audit_log ({S.columns(_AUDIT)}) VALUES ({S.marks(_AUDIT)})",
        (d.stamp(e.at), e.operator, e.action, e.conversation, e.target, d.json(e.before),
         d.json(e.after)),
    )  # fmt: skip


def audited(
    d: Dialect, program: Program[R], entry: Callable[[R], AuditEntry], *, always: bool = False
) -> Program[R]:
    """``program``, then the audit entry ``entry(result)`` when it changed something (its
    result is not ``None``) or ``always``: run atomically, both commit or neither does."""
    result = yield from program
    if always or result is not None:
        yield from record_audit(d, entry(result))
    return result


def timer_history(d: Dialect, key: str, limit: int = 200) -> Program[list[TimerChange]]:
    """The latest entries of a conversation's timer history, oldest first."""
    rows = yield (
        "SELECT id, at, event, name, trigger_name, state, due_at, reason FROM timer_history "
        "WHERE conversation = ? ORDER BY id DESC LIMIT ?",
        (key, limit),
    )
    return [
        TimerChange(d.read_time(at), TimerEvent(event), name, trigger, state, d.read_time(due),
                    reason, id=int(i))
        for i, at, event, name, trigger, state, due, reason in reversed(rows)
    ]  # fmt: skip


def audit(d: Dialect, conversation: str | None, limit: int = 200) -> Program[list[AuditEntry]]:
    """The latest audit entries (of one conversation, or all), oldest first."""
    where, args = ("WHERE conversation = ? ", (conversation,)) if conversation else ("", ())
    rows = yield (
        f"SELECT id, {S.columns(_AUDIT)} FROM audit_log {where}ORDER BY id DESC LIMIT ?",
        (*args, limit),
    )
    return [
        AuditEntry(d.read_time(at), op, action, conv, target, d.read_json(before),
                   d.read_json(after), id=int(i))
        for i, at, op, action, conv, target, before, after in reversed(rows)
    ]  # fmt: skip


# How far below the highest id a row may commit late and still move the list's mark.
LATE_WINDOW = 1000


def _recent(table: str) -> str:
    """Rows among the newest ``LATE_WINDOW`` ids of ``table`` (an index range count)."""
    return (
        f"(SELECT COUNT(*) FROM {table} WHERE id > "
        f"(SELECT COALESCE(MAX(id), 0) FROM {table}) - {LATE_WINDOW})"
    )


def change_mark(key: str | None) -> Program[tuple[int, ...]]:
    """A tuple that changes whenever anything an operator sees changes (one conversation's
    version, log, audit, outbox and timer history; or, for ``None``, the whole list's).

    Ids are handed out at insert, not at commit: on PostgreSQL a turn holding a lower id can
    commit after one holding a higher id, and the highest id alone would not move when it
    does. So the mark also counts rows: for the list, those among the newest ids of each
    table; for a conversation, its audit entries and outbox history (written outside its
    lock, by other processes' workers and actions; its log and version move under it)."""
    if key is None:
        rows = yield (
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM message_log), "
            "(SELECT COALESCE(MAX(id), 0) FROM audit_log), "
            "(SELECT COALESCE(MAX(id), 0) FROM outbox_history), "
            f"{_recent('message_log')}, {_recent('audit_log')}, {_recent('outbox_history')}",
            (),
        )
    else:
        rows = yield (
            "SELECT (SELECT COALESCE(MAX(version), 0) FROM conversations WHERE key = ?), "
            "(SELECT COALESCE(MAX(id), 0) FROM message_log WHERE conversation = ?), "
            "(SELECT COALESCE(MAX(id), 0) FROM audit_log WHERE conversation = ?), "
            "(SELECT COALESCE(MAX(h.id), 0) FROM outbox_history h JOIN outbox o "
            "ON o.id = h.message WHERE o.conversation = ?), "
            "(SELECT COUNT(*) FROM timers WHERE conversation = ?), "
            "(SELECT COALESCE(MAX(id), 0) FROM timer_history WHERE conversation = ?), "
            "(SELECT COUNT(*) FROM audit_log WHERE conversation = ?), "
            "(SELECT COUNT(*) FROM outbox_history h JOIN outbox o "
            "ON o.id = h.message WHERE o.conversation = ?)",
            (key, key, key, key, key, key, key, key),
        )
    return tuple(int(v) for v in rows[0])


def _outbox_history(d: Dialect, message: str, at: datetime, event: str, status: str,
                    detail: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:  # fmt: skip
    return (
        "INSERT INTO outbox_history (message, at, event, status, detail) VALUES (?,?,?,?,?)",
        (message, d.utc(at), event, status, d.json(detail)),
    )


def retry_outbox(
    d: Dialect, message_id: str, at: datetime, operator: str, statuses: Sequence[str]
) -> Program[OutboundMessage | None]:
    """Put a message back in the outbox, due ``at``, if its status is one of ``statuses``;
    the message after it, or ``None`` when it was not in one of them."""
    marks = ",".join("?" * len(statuses))
    rows = yield (
        "UPDATE outbox SET status = 'pending', due_at = ?, attempts = 0, error = NULL, "
        "error_code = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ? "
        f"WHERE id = ? AND status IN ({marks}) RETURNING {S.columns(S.OUTBOX_READ)}",
        (d.utc(at), d.utc(at), message_id, *statuses),
    )
    if not rows:
        return None
    yield _outbox_history(d, message_id, at, "retry", "pending", {"operator": operator})
    return S.message(rows[0], d)


def cancel_outbox(
    d: Dialect, message_id: str, at: datetime, operator: str
) -> Program[OutboundMessage | None]:
    """Fail a message still waiting to be sent (``pending``): it is never sent. The message
    after it, or ``None`` when it was not pending (claimed ones may be on the wire)."""
    rows = yield (
        "UPDATE outbox SET status = 'failed', error = ?, updated_at = ? "
        f"WHERE id = ? AND status = 'pending' RETURNING {S.columns(S.OUTBOX_READ)}",
        (f"cancelled by operator {operator}", d.utc(at), message_id),
    )
    if not rows:
        return None
    yield _outbox_history(d, message_id, at, "cancelled", "failed", {"operator": operator})
    return S.message(rows[0], d)
