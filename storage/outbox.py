"""What the store keeps for outbound messaging: outbox rows, their history, and timers.

:class:`OutboxStore` is the part of the store interface the outbox worker, the status
callback handler and the timer runner use. Rows are *claimed* with a lease (owner + expiry)
so several processes can share the work; the PostgreSQL backend claims with
``FOR UPDATE SKIP LOCKED``, SQLite with one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from storage.records import (
    DeliveryCount,
    DeliveryUpdate,
    HistoryEntry,
    OutboundMessage,
    OutboxChange,
    Timer,
)

__all__ = ["OutboxStore"]


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
