"""Read-only programs for observability, written once for both backends (see
:mod:`storage.programs`): outbox depth for the metrics scrape, the traceparent carried from a
turn to the messages it queued, and the per-state flow statistics of ``switchboard stats``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from storage.dialect import Dialect
from storage.programs import Program

__all__ = ["OutboxDepth", "link_outbox", "outbox_depth", "traceparent"]


@dataclass(frozen=True, slots=True)
class OutboxDepth:
    """Messages per outbox status, and how long the oldest due pending one has waited."""

    by_status: dict[str, int] = field(default_factory=dict)
    oldest_pending_s: float = 0.0


def outbox_depth(d: Dialect, now: datetime) -> Program[OutboxDepth]:
    """Count the outbox by status; the oldest pending message that is due."""
    rows = yield "SELECT status, COUNT(*) FROM outbox GROUP BY status", ()
    oldest = yield (
        "SELECT MIN(due_at) FROM outbox WHERE status = 'pending' AND due_at <= ?",
        (d.utc(now),),
    )
    first = oldest[0][0] if oldest else None
    waited = 0.0 if first is None else (now - d.read_time(first)).total_seconds()
    return OutboxDepth({str(s): int(n) for s, n in rows}, max(0.0, waited))


def link_outbox(ids: Sequence[str], parent: str) -> Program[None]:
    """Record the trace context ``parent`` on the outbox messages ``ids``."""
    for message_id in ids:
        yield "UPDATE outbox SET traceparent = ? WHERE id = ?", (parent, message_id)


def traceparent(message_id: str) -> Program[str | None]:
    """The trace context stored with an outbox message, if any."""
    rows = yield "SELECT traceparent FROM outbox WHERE id = ?", (message_id,)
    return str(rows[0][0]) if rows and rows[0][0] else None
