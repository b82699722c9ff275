"""What the store keeps for outbound messaging: outbox rows, their history, and timers.

:class:`OutboxStore` is the part of the store interface the outbox worker, the status
callback handler and the timer runner use. Rows are *claimed* with a lease (owner + expiry)
so several processes can share the work; the PostgreSQL backend claims with
``FOR UPDATE SKIP LOCKED``, SQLite with one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "DELIVERY_RANK",
    "FAILED_DELIVERY",
    "DeliveryCount",
    "DeliveryUpdate",
    "HistoryEntry",
    "OutboundMessage",
    "OutboxChange",
    "OutboxStore",
    "Timer",
    "delivery_advances",
]

# Twilio's MessageStatus values in the order a message moves through them.
DELIVERY_RANK = {
    "accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4,
    "read": 5,
}  # fmt: skip
FAILED_DELIVERY = frozenset({"failed", "undelivered", "canceled"})


def delivery_advances(current: str | None, new: str) -> bool:
    """Whether status ``new`` may replace ``current`` (monotonic; failures are terminal)."""
    if current is None:
        return new in DELIVERY_RANK or new in FAILED_DELIVERY
    if current in FAILED_DELIVERY:
        return False
    if new in FAILED_DELIVERY:
        return current not in {"delivered", "read"}
    if new not in DELIVERY_RANK:
        return False
    return DELIVERY_RANK[new] > DELIVERY_RANK.get(current, -1)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message in the outbox. ``id`` is ours and makes enqueueing idempotent."""

    id: str
    channel: str
    ours: str
    theirs: str
    body: str
    due_at: datetime
    created_at: datetime
    media: tuple[str, ...] = ()
    content_sid: str | None = None
    content_variables: str | None = None
    purpose: str = "reply"
    conversation: str | None = None
    flow: str | None = None
    status: str = "pending"
    delivery: str | None = None
    attempts: int = 0
    sid: str | None = None
    error_code: int | None = None
    error: str | None = None
    segments: int | None = None
    encoding: str | None = None
    cost: str | None = None
    reclaimed: bool = False  # claimed again after a lease ran out: it may already have gone out
    undeliverable: int | None = None  # the error code that marked the recipient undeliverable


@dataclass(frozen=True, slots=True)
class OutboxChange:
    """What a worker writes back for a claimed message (its lease is released)."""

    status: str
    event: str
    at: datetime
    due_at: datetime | None = None
    attempts: int | None = None
    sid: str | None = None
    delivery: str | None = None
    error_code: int | None = None
    error: str | None = None
    segments: int | None = None
    encoding: str | None = None
    cost: str | None = None
    body: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event in a message's history: claimed, blocked, sent, retry, a delivery status…"""

    at: datetime
    event: str
    status: str | None = None
    sid: str | None = None
    code: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """The outcome of applying a status callback: the message after it, and whether it moved."""

    message: OutboundMessage
    applied: bool


@dataclass(frozen=True, slots=True)
class DeliveryCount:
    """Messages of one group (a flow or a recipient) by their latest delivery status."""

    group: str
    total: int
    by_status: dict[str, int]

    @property
    def delivered(self) -> int:
        return self.by_status.get("delivered", 0) + self.by_status.get("read", 0)

    @property
    def rate(self) -> float:
        """Delivered (or read) messages over those with a final outcome; 0 when none."""
        final = self.delivered + sum(self.by_status.get(s, 0) for s in FAILED_DELIVERY)
        return self.delivered / final if final else 0.0


@dataclass(frozen=True, slots=True)
class Timer:
    """A stored timer: fire ``trigger`` in ``conversation`` at ``due_at``.

    A timer is named per conversation (scheduling the same name again replaces it); with a
    ``state`` it is cancelled as soon as the conversation leaves that state.
    """

    conversation: str
    name: str
    trigger: str
    flow: str
    channel: str
    ours: str
    theirs: str
    due_at: datetime
    state: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.conversation}#{self.name}"


class OutboxStore(ABC):
    """The outbox and timer half of the store interface."""

    @abstractmethod
    async def enqueue(self, messages: Sequence[OutboundMessage]) -> int:
        """Store messages to send; an id already stored is skipped. Returns how many were new."""

    @abstractmethod
    async def claim_outbox(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboundMessage]:
        """Lease up to ``limit`` due messages (and those whose lease ran out) to ``owner``."""

    @abstractmethod
    async def update_outbox(self, message_id: str, owner: str, change: OutboxChange) -> bool:
        """Write a claimed message's outcome and history; False if ``owner`` lost the lease."""

    @abstractmethod
    async def apply_delivery(
        self,
        message_id: str | None,
        sid: str,
        status: str,
        error_code: int | None,
        at: datetime,
        retry_at: datetime | None = None,
    ) -> DeliveryUpdate | None:
        """Apply a MessageStatus monotonically; ``None`` if no message has that id/sid.

        With ``retry_at``, a failure status that applies also puts the message back in the
        outbox, due then (a transient delivery error such as 30003).
        """

    @abstractmethod
    async def outbox_message(self, message_id: str) -> OutboundMessage | None:
        """One stored message."""

    @abstractmethod
    async def outbox_history(self, message_id: str) -> list[HistoryEntry]:
        """A message's history, oldest first."""

    @abstractmethod
    async def delivery_report(self, by: str) -> list[DeliveryCount]:
        """Messages Twilio accepted, counted by delivery status per ``flow`` or ``theirs``."""

    @abstractmethod
    async def mark_undeliverable(self, address: str, code: int, at: datetime) -> None:
        """Record that ``address`` cannot receive messages (21211, 21614, 30005, 30006)."""

    @abstractmethod
    async def claim_timers(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Timer]:
        """Lease up to ``limit`` due timers (and those whose lease ran out) to ``owner``."""

    @abstractmethod
    async def finish_timer(self, timer: Timer) -> None:
        """Delete a timer that will not fire (unless it was rescheduled meanwhile)."""
