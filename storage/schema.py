"""One column list per table, and the records read from rows in that order.

Both backends select and insert in these orders; a row here is any sequence (a ``sqlite3``
tuple or an ``asyncpg.Record``) with the columns in list order, decoded through a
:class:`~storage.dialect.Dialect`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.dialect import Dialect
from storage.records import (
    ConsentChange,
    Conversation,
    Direction,
    HistoryEntry,
    LogEntry,
    OutboundMessage,
    OutboxStatus,
    Purpose,
    Timer,
)

__all__ = [
    "CONSENT",
    "CONVERSATION",
    "HISTORY",
    "LOG",
    "OUTBOX",
    "OUTBOX_READ",
    "TIMER",
    "columns",
    "consent_change",
    "conversation",
    "history_entry",
    "log_entry",
    "marks",
    "message",
    "timer",
]

CONVERSATION = (
    "key", "flow", "state", "data", "version", "closed", "channel", "ours", "theirs",
    "created_at", "updated_at", "flow_version", "flow_shape", "stack",
)  # fmt: skip
LOG = (
    "conversation", "direction", "kind", "body", "at", "sid", "channel", "media",
    "state_before", "state_after", "meta",
)  # fmt: skip
CONSENT = ("person", "scope", "status", "source", "at", "channel", "detail")
OUTBOX = (
    "id", "conversation", "flow", "channel", "ours", "theirs", "body", "media", "content_sid",
    "content_variables", "purpose", "status", "delivery", "attempts", "due_at", "sid",
    "error_code", "error", "segments", "encoding", "cost", "created_at", "template",
)  # fmt: skip
# What a worker records about an attempt (migration 0007): read with the message, written
# by storage.programs.begin_attempt and update_outbox, never by an enqueue.
ATTEMPT = ("wire", "attempt_at", "http_status")
OUTBOX_READ = OUTBOX + ATTEMPT
TIMER = (
    "id", "conversation", "name", "trigger_name", "flow", "state", "channel", "ours", "theirs",
    "due_at", "payload", "created_at",
)  # fmt: skip
HISTORY = ("at", "event", "status", "sid", "code", "detail")

Row = Sequence[Any]


def columns(table: Sequence[str], alias: str = "") -> str:
    """``a, b, c`` (or ``o.a, o.b, o.c`` with an alias) for a SELECT or an INSERT."""
    return ", ".join(f"{alias}.{c}" if alias else c for c in table)


def marks(table: Sequence[str]) -> str:
    """One ``?`` per column."""
    return ",".join("?" * len(table))


def conversation(row: Row, d: Dialect) -> Conversation:
    """A conversation from its :data:`CONVERSATION` columns."""
    (key, flow, state, data, version, closed, channel, ours, theirs, created, updated,
     flow_version, flow_shape, stack) = row  # fmt: skip
    return Conversation(
        key=key, flow=flow, state=state, data=d.read_json(data), version=version,
        closed=bool(closed), channel=channel, ours=ours, theirs=theirs,
        created_at=d.read_time(created), updated_at=d.read_time(updated),
        flow_version=flow_version, flow_shape=flow_shape,
        stack=tuple(d.read_json(stack) or ()),
    )  # fmt: skip


def log_entry(row: Row, d: Dialect) -> LogEntry:
    """A log entry from its :data:`LOG` columns."""
    conv, direction, kind, body, at, sid, channel, media, before, after, meta = row
    return LogEntry(
        conversation=conv, direction=Direction(direction), kind=kind, body=body,
        at=d.read_time(at), sid=sid, channel=channel, media=tuple(d.read_json(media)),
        state_before=before, state_after=after, meta=d.read_json(meta),
    )  # fmt: skip


def consent_change(row: Row, d: Dialect) -> ConsentChange:
    """A ledger entry from its :data:`CONSENT` columns."""
    person, scope, status, source, at, channel, detail = row
    return ConsentChange(person, scope, status, source, d.read_time(at), channel, detail)


def message(
    row: Row, d: Dialect, reclaimed: bool = False, undeliverable: int | None = None
) -> OutboundMessage:
    """An outbox message from its :data:`OUTBOX_READ` columns (extra columns after them ignored)."""
    (mid, conv, flow, channel, ours, theirs, body, media, csid, cvars, purpose, status, delivery,
     attempts, due, sid, code, error, segments, encoding, cost, created,
     template, wire, attempt_at, http_status) = row[:26]  # fmt: skip
    return OutboundMessage(
        id=mid, conversation=conv, flow=flow, channel=channel, ours=ours, theirs=theirs,
        body=body, media=tuple(d.read_json(media)), content_sid=csid, content_variables=cvars,
        purpose=Purpose(purpose), status=OutboxStatus(status), delivery=delivery, attempts=attempts,
        due_at=d.read_time(due), sid=sid, error_code=code, error=error, segments=segments,
        encoding=encoding, cost=cost, created_at=d.read_time(created), reclaimed=reclaimed,
        template=template, undeliverable=undeliverable,
        wire=None if wire is None else d.read_json(wire),
        attempt_at=None if attempt_at is None else d.read_time(attempt_at), http_status=http_status,
    )  # fmt: skip


def timer(row: Row, d: Dialect) -> Timer:
    """A timer from its :data:`TIMER` columns."""
    _id, conv, name, trigger, flow, state, channel, ours, theirs, due, payload, _created = row
    return Timer(
        conversation=conv, name=name, trigger=trigger, flow=flow, state=state, channel=channel,
        ours=ours, theirs=theirs, due_at=d.read_time(due), payload=d.read_json(payload),
    )  # fmt: skip


def history_entry(row: Row, d: Dialect) -> HistoryEntry:
    """One event of a message's history from its :data:`HISTORY` columns."""
    at, event, status, sid, code, detail = row
    return HistoryEntry(d.read_time(at), event, status, sid, code, d.read_json(detail))
