"""The store interface, cut by who uses it: each consumer types against the part it needs.

A turn costs the store two round trips: :meth:`TurnStore.load` (the idempotency records asked
for and the conversation, in one hop) and :meth:`TurnStore.commit` (conversation, message log
and idempotency record in **one transaction**, guarded by the conversation's version and by
the heads of the contacts the turn read), plus one for messaging turns:
:meth:`TurnStore.contact` (consent and WhatsApp window, for ``bot.gate``).

The consent ledger is append-only: a person's status in a scope is their latest change.
Outbox rows and timers are *claimed* with a lease (owner + expiry) so several processes can
share the work. :class:`Store` is all of it; :class:`storage.backend.Backend` implements it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Protocol

from storage.records import (
    Attempt,
    AttemptStart,
    ConsentChange,
    Contact,
    Conversation,
    DeliveryCount,
    DeliveryUpdate,
    HistoryEntry,
    Loaded,
    LogEntry,
    OutboundMessage,
    OutboxChange,
    Timer,
    TurnWrite,
)
from storage.replays import FirstDelivery

__all__ = [
    "AdminStore",
    "ConsentStore",
    "OutboxStore",
    "ReadStore",
    "Store",
    "TimerStore",
    "TurnStore",
    "VerifyLimitStore",
]


class TurnStore(Protocol):
    """What the engine needs for a turn."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Keep other processes off conversation ``key`` for one turn (load, step, commit)."""
        ...

    async def load(self, key: str, idempotency_keys: Sequence[str]) -> Loaded:
        """The stored response for any of ``idempotency_keys``, else the conversation."""
        ...

    async def commit(self, write: TurnWrite) -> str | None:
        """Write a turn atomically: ``None`` when written, else the response stored earlier
        for one of its idempotency keys (nothing written). Raises
        :class:`~storage.errors.ConflictError` when the conversation's version moved on, or
        the head of one of ``write.contacts`` did."""
        ...

    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        """``person``'s consent in ``scope`` and, when ``window`` (a WhatsApp conversation key)
        is given, the time of their last inbound message there; with its ``head``."""
        ...

    async def history(
        self, theirs: str, *, exclude: str = "", limit: int = 5
    ) -> list[Conversation]:
        """The latest conversations with the address ``theirs`` (newest first), except
        ``exclude``: a new call starts knowing what earlier ones stored."""
        ...

    async def first_delivery(self, idempotency_key: str, sid: str) -> FirstDelivery | None:
        """What the delivery first recorded under ``idempotency_key`` carried (its
        conversation, the inbound text logged with ``sid``); read for duplicates only."""
        ...

    async def timers(self, key: str) -> list[Timer]:
        """Conversation ``key``'s pending timers, soonest first (read when a subflow is
        called: its caller's are paused with it)."""
        ...


class ConsentStore(Protocol):
    """What compliance needs: the consent ledger and the WhatsApp window."""

    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        """See :meth:`TurnStore.contact`."""
        ...

    async def record_consent(self, change: ConsentChange) -> None:
        """Append ``change`` to the consent ledger (outside a turn: carrier, operator, import)."""
        ...

    async def consent_history(self, person: str) -> list[ConsentChange]:
        """Every consent change of ``person`` in every scope, oldest first."""
        ...

    async def set_contact_zone(self, person: str, zone: str | None, at: datetime) -> None:
        """Record ``person``'s (E.164, no channel prefix) own IANA time zone for quiet hours,
        overriding their number's; None forgets it."""
        ...

    async def contact_zone(self, person: str) -> str | None:
        """``person``'s own time zone, if one was recorded."""
        ...

    async def close_window(self, window: str, at: datetime) -> bool:
        """Mark the WhatsApp window of conversation ``window`` closed, unless the person wrote
        after ``at``; returns whether it was open before."""
        ...


class OutboxStore(Protocol):
    """What the outbox worker and the status callback handler need."""

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> int:
        """Store messages to send; an id already stored is skipped. Returns how many were new."""
        ...

    async def claim_outbox(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboundMessage]:
        """Lease up to ``limit`` due messages (and those whose lease ran out) to ``owner``."""
        ...

    async def update_outbox(self, message_id: str, owner: str, change: OutboxChange) -> bool:
        """Write a claimed message's outcome and history; False if ``owner`` lost the lease."""
        ...

    async def begin_attempt(self, message_id: str, owner: str, attempt: Attempt) -> AttemptStart:
        """Record ``attempt`` (its exact request and start time) before Twilio is called: only
        while ``owner`` holds the lease and, with ``attempt.consent``, only if the consent
        ledger as committed does not say the person opted out; one transaction."""
        ...

    async def outbox_sids(self, sids: Sequence[str]) -> set[str]:
        """Which of ``sids`` belong to a stored message."""
        ...

    async def apply_delivery(
        self, message_id: str | None, sid: str, status: str, error_code: int | None,
        at: datetime, retry_at: datetime | None = None,
    ) -> DeliveryUpdate | None:  # fmt: skip
        """Apply a MessageStatus monotonically; ``None`` if no message has that id/sid.

        With ``retry_at``, a failure status that applies also puts the message back in the
        outbox, due then (a transient delivery error such as 30003).
        """
        ...

    async def outbox_message(self, message_id: str) -> OutboundMessage | None:
        """One stored message."""
        ...

    async def mark_undeliverable(self, address: str, code: int, at: datetime) -> None:
        """Record that ``address`` cannot receive messages (21211, 21614, 30005, 30006)."""
        ...


class TimerStore(Protocol):
    """What the timer runner needs."""

    async def claim_timers(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Timer]:
        """Lease up to ``limit`` due timers (and those whose lease ran out) to ``owner``."""
        ...

    async def finish_timer(self, timer: Timer, reason: str = ...) -> bool:
        """Delete a timer that will not fire (unless it was rescheduled meanwhile); one
        still there is recorded as cancelled with ``reason`` (default: it moved on), and
        True is returned."""
        ...


class ReadStore(Protocol):
    """What the CLI, the admin API and exports read."""

    async def conversation(self, key: str) -> Conversation | None:
        """The stored conversation, or ``None``."""
        ...

    async def log(self, key: str) -> list[LogEntry]:
        """The conversation's message log, oldest first."""
        ...

    async def history(
        self, theirs: str, *, exclude: str = "", limit: int = 5
    ) -> list[Conversation]:
        """The latest conversations with the address ``theirs`` (newest first), except
        ``exclude``: a new call starts knowing what earlier ones stored."""
        ...

    async def outbox_history(self, message_id: str) -> list[HistoryEntry]:
        """A message's history, oldest first."""
        ...

    async def delivery_report(self, by: str) -> list[DeliveryCount]:
        """Messages Twilio accepted, counted by delivery status per ``flow`` or ``theirs``."""
        ...

    async def consent_history(self, person: str) -> list[ConsentChange]:
        """See :meth:`ConsentStore.consent_history`."""
        ...


class AdminStore(Protocol):
    """Connections and the schema: start-up, ``switchboard db``, health checks."""

    async def open(self) -> None:
        """Connect and check (or, where configured, upgrade) the schema; closed again if
        that fails, so a later ``open()`` starts over."""
        ...

    async def connect(self) -> None:
        """Connect without touching the schema."""
        ...

    async def close(self) -> None:
        """Release connections; safe to call twice."""
        ...

    async def ping(self) -> bool:
        """Whether the database answers a trivial query."""
        ...

    async def readiness(self) -> list[str]:
        """Why the store cannot take a turn now (schema, a write, the file); empty if it can."""
        ...

    async def migrate(self) -> list[int]:
        """Apply every migration the database lacks; returns the versions applied."""
        ...

    async def check_schema(self) -> None:
        """:class:`~storage.errors.SchemaError` unless the database is at this code's schema."""
        ...

    async def applied_versions(self) -> set[int]:
        """The migrations this database has had applied."""
        ...

    async def schema_version(self) -> int:
        """The highest migration applied (0 for none)."""
        ...


class VerifyLimitStore(Protocol):
    """The per-number limit on verification codes (``bot.outbound.verify``)."""

    async def take_verify_send(
        self, person: str, at: datetime, window: timedelta, limit: int
    ) -> bool:
        """Count one code for ``person`` at ``at``; whether it is within ``limit`` codes per
        ``window`` (one atomic statement, so it holds across instances)."""
        ...


class Store(
    TurnStore, ConsentStore, OutboxStore, TimerStore, ReadStore, AdminStore, VerifyLimitStore,
    Protocol,
):  # fmt: skip
    """A whole conversation store. Backends: ``storage.sqlite``, ``storage.postgres``."""
