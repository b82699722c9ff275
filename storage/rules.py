"""The decisions every backend makes the same way, as pure functions (no I/O).

The backends read the rows, call these, and write what they return.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from storage.records import (
    FAILED_DELIVERY,
    DeliveryCount,
    OutboundMessage,
    OutboxStatus,
    delivery_advances,
)

__all__ = [
    "REPORT_GROUPS",
    "WAITING",
    "DeliveryDecision",
    "decide_delivery",
    "group_report",
    "window_closes",
]

REPORT_GROUPS = frozenset({"flow", "theirs"})
# How a pending message's error starts while Twilio is unreachable, slow or refusing for now
# (retries, an open circuit): `switchboard outbox` shows such messages as "waiting for Twilio".
WAITING = "waiting for Twilio"


@dataclass(frozen=True, slots=True)
class DeliveryDecision:
    """What a status callback does to its message: apply it (maybe retrying), or log why not."""

    applies: bool
    event: str  # the history event: "status", "status-ignored" or "status-stale"
    retry: bool = False  # put the message back in the outbox


def decide_delivery(
    message: OutboundMessage, sid: str, status: str, retry_at: datetime | None
) -> DeliveryDecision:
    """Whether MessageStatus ``status`` for attempt ``sid`` moves ``message`` on.

    A status for the message's current sid applies when it advances the delivery status;
    one for an attempt whose create answer is not stored yet (no sid, or still claimed)
    applies as the first status of that sid; any other sid is stale.
    """
    same = message.sid == sid
    newer = not same and (message.sid is None or message.status == OutboxStatus.CLAIMED)
    current = message.delivery if same else None
    if not (same or newer) or not delivery_advances(current, status):
        return DeliveryDecision(False, "status-ignored" if same or newer else "status-stale")
    return DeliveryDecision(True, "status", retry_at is not None and status in FAILED_DELIVERY)


def window_closes(last_inbound: datetime | None, at: datetime) -> bool:
    """Whether a send failure at ``at`` closes the window: not if they wrote after it."""
    return last_inbound is None or last_inbound <= at


def group_report(rows: Iterable[tuple[str, str, int]]) -> list[DeliveryCount]:
    """``(group, status, count)`` rows, ordered by group, as one count per group."""
    groups: dict[str, dict[str, int]] = {}
    for group, status, count in rows:
        groups.setdefault(group, {})[status] = count
    return [DeliveryCount(g, sum(c.values()), c) for g, c in groups.items()]
