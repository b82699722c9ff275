"""The base class of a store backend: a dozen primitives below, the rest written once above.

A new backend writes the abstract methods of :class:`Backend` (:data:`PRIMITIVES`):
connecting, the schema's bookkeeping, the hot path of a turn (``load``, ``contact``,
``commit``), the set-based writes (``enqueue`` and the two claims), and :meth:`Backend.run`,
which drives a :mod:`storage.programs` program in one transaction. Everything else (opening,
migrations and checks, reads, consent, outbox updates and delivery statuses) is derived here
and behaves the same on every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime, timedelta
from typing import ClassVar, TypeVar

import storage.programs as programs
from storage.admin_queries import conversation_timers
from storage.dialect import Dialect
from storage.errors import SchemaError, StoreError
from storage.migrations import Migration, migrations, schema_problem
from storage.programs import Program
from storage.protocols import Store
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
from storage.replays import FirstDelivery, first_delivery
from storage.rules import REPORT_GROUPS
from storage.verify_limits import take_verify_send

__all__ = ["PRIMITIVES", "Backend"]

R = TypeVar("R")


class Backend(Store, ABC):
    """A conversation store over one database; subclasses write the primitives."""

    dialect: ClassVar[Dialect]
    auto_migrate: bool = False
    ping_timeout_s: float | None = None
    _opened: bool = False

    # -- primitives ---------------------------------------------------------------------

    @property
    @abstractmethod
    def where(self) -> str:
        """The database, for messages (never a password)."""

    @abstractmethod
    async def connect(self) -> None:
        """Connect without touching the schema; nothing to do when connected."""

    @abstractmethod
    async def disconnect(self) -> None:
        """Release connections; nothing to do when not connected."""

    @abstractmethod
    async def applied_versions(self) -> set[int]:
        """The migrations this database has had applied."""

    @abstractmethod
    async def apply_migration(self, step: Migration) -> bool:
        """Apply ``step`` in its own transaction unless applied (read under the lock that
        serialises migrations across processes); whether it was applied now."""

    @abstractmethod
    async def run(
        self, program: Program[R], *, atomic: bool = True, statement_timeout_s: float | None = None
    ) -> R:
        """Drive ``program``: each statement it yields is run and its rows sent back.

        ``atomic`` runs it in one transaction (a single statement needs none);
        ``statement_timeout_s`` bounds each statement where the driver can. Database errors become
        :class:`~storage.errors.StoreError`.
        """

    @abstractmethod
    async def load(self, key: str, idempotency_keys: Sequence[str]) -> Loaded:
        """See :meth:`storage.protocols.TurnStore.load`."""

    @abstractmethod
    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        """See :meth:`storage.protocols.TurnStore.contact`."""

    @abstractmethod
    async def commit(self, write: TurnWrite) -> str | None:
        """See :meth:`storage.protocols.TurnStore.commit`."""

    @abstractmethod
    async def enqueue(self, messages: Sequence[OutboundMessage]) -> int:
        """See :meth:`storage.protocols.OutboxStore.enqueue`."""

    @abstractmethod
    async def claim_outbox(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboundMessage]:
        """See :meth:`storage.protocols.OutboxStore.claim_outbox`."""

    @abstractmethod
    async def claim_timers(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Timer]:
        """See :meth:`storage.protocols.TimerStore.claim_timers`."""

    # -- connections and the schema -----------------------------------------------------

    async def open(self) -> None:
        """Connect, then migrate (``auto_migrate``) or check the schema; on any failure close
        again, so the next ``open()`` starts over rather than leaving a half-open store."""
        if self._opened:
            return
        await self.connect()
        try:
            await (self.migrate() if self.auto_migrate else self.check_schema())
        except BaseException:
            await self.close()
            raise
        self._opened = True

    async def close(self) -> None:
        """Release connections; safe to call twice."""
        self._opened = False
        await self.disconnect()

    async def ping(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            return await self.run(
                programs.ping(), atomic=False, statement_timeout_s=self.ping_timeout_s
            )
        except (StoreError, TimeoutError):
            return False

    async def readiness(self) -> list[str]:
        """Why this store cannot take a turn now (empty when it can): the schema is not this
        code's, the database refuses a write (read-only, disk full, gone), or (SQLite) the
        file is no longer the one opened."""
        problems = self.identity_problems()
        if problems:  # every probe would only fail with the same line again
            return problems
        try:
            await self.check_schema()
            await self.run(_probe(), statement_timeout_s=self.ping_timeout_s)
        except StoreError as exc:  # SchemaError is one
            problems.append(str(exc))
        return problems

    def identity_problems(self) -> list[str]:
        """Whether the database is still the one opened (SQLite checks its file)."""
        return []

    async def migrate(self) -> list[int]:
        """Apply every migration the database lacks; returns the versions applied."""
        return [s.version for s in migrations(self.dialect.name) if await self.apply_migration(s)]

    async def check_schema(self) -> None:
        """:class:`SchemaError` unless the database is at this code's schema version."""
        applied = await self.applied_versions()
        problem = schema_problem(self.where, applied, self.dialect.name)
        if problem:
            raise SchemaError(problem)

    async def schema_version(self) -> int:
        """The highest migration applied (0 for none)."""
        return max(await self.applied_versions(), default=0)

    # -- turns and reads ----------------------------------------------------------------

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold nothing beyond the engine's own per-key lock: a turn raced by another process
        fails the version guard of :meth:`commit` and is redone. PostgreSQL overrides it
        with an advisory lock, so a step is never run twice."""
        return nullcontext()

    async def conversation(self, key: str) -> Conversation | None:
        """The stored conversation, or ``None``."""
        return (await self.load(key, ())).conversation

    async def history(
        self, theirs: str, *, exclude: str = "", limit: int = 5
    ) -> list[Conversation]:
        """The latest conversations with ``theirs`` (newest first), except ``exclude``."""
        return await self.run(programs.history(self.dialect, theirs, exclude, limit), atomic=False)

    async def timers(self, key: str) -> list[Timer]:
        """See :meth:`storage.protocols.TurnStore.timers`."""
        return await self.run(conversation_timers(self.dialect, key), atomic=False)

    async def log(self, key: str) -> list[LogEntry]:
        """The conversation's message log, oldest first."""
        return await self.run(programs.log(self.dialect, key), atomic=False)

    async def first_delivery(self, idempotency_key: str, sid: str) -> FirstDelivery | None:
        """See :meth:`storage.protocols.TurnStore.first_delivery`."""
        return await self.run(first_delivery(idempotency_key, sid), atomic=False)

    # -- consent and the window ---------------------------------------------------------

    async def record_consent(self, change: ConsentChange) -> None:
        """Append ``change`` to the consent ledger."""
        await self.run(programs.record_consent(self.dialect, change), atomic=False)

    async def consent_history(self, person: str) -> list[ConsentChange]:
        """Every consent change of ``person`` in every scope, oldest first."""
        return await self.run(programs.consent_history(self.dialect, person), atomic=False)

    async def set_contact_zone(self, person: str, zone: str | None, at: datetime) -> None:
        """Record ``person``'s own time zone for quiet hours (None: forget it)."""
        await self.run(programs.set_contact_zone(self.dialect, person, zone, at), atomic=False)

    async def contact_zone(self, person: str) -> str | None:
        """``person``'s own time zone, if one was recorded."""
        return await self.run(programs.contact_zone(person), atomic=False)

    async def take_verify_send(
        self, person: str, at: datetime, window: timedelta, limit: int
    ) -> bool:
        """See :meth:`storage.protocols.VerifyLimitStore.take_verify_send`."""
        program = take_verify_send(self.dialect, person, at, window, limit)
        return await self.run(program, atomic=False)

    async def close_window(self, window: str, at: datetime) -> bool:
        """Close ``window`` unless they wrote after ``at``; whether it was open before."""
        return await self.run(programs.close_window(self.dialect, window, at))

    # -- outbox and timers --------------------------------------------------------------

    async def update_outbox(self, message_id: str, owner: str, change: OutboxChange) -> bool:
        """Write a claimed message's outcome and history; False if ``owner`` lost the lease."""
        return await self.run(programs.update_outbox(self.dialect, message_id, owner, change))

    async def begin_attempt(self, message_id: str, owner: str, attempt: Attempt) -> AttemptStart:
        """See :meth:`storage.protocols.OutboxStore.begin_attempt`."""
        return await self.run(programs.begin_attempt(self.dialect, message_id, owner, attempt))

    async def outbox_sids(self, sids: Sequence[str]) -> set[str]:
        """Which of ``sids`` belong to a stored message."""
        return await self.run(programs.outbox_sids(tuple(sids)), atomic=False)

    async def apply_delivery(
        self, message_id: str | None, sid: str, status: str, error_code: int | None,
        at: datetime, retry_at: datetime | None = None,
    ) -> DeliveryUpdate | None:  # fmt: skip
        """Apply a MessageStatus monotonically; ``None`` if no message has that id/sid."""
        return await self.run(programs.apply_delivery(
            self.dialect, message_id, sid, status, error_code, at, retry_at
        ))  # fmt: skip

    async def outbox_message(self, message_id: str) -> OutboundMessage | None:
        """One stored message."""
        return await self.run(programs.outbox_message(self.dialect, message_id), atomic=False)

    async def outbox_history(self, message_id: str) -> list[HistoryEntry]:
        """A message's history, oldest first."""
        return await self.run(programs.outbox_history(self.dialect, message_id), atomic=False)

    async def delivery_report(self, by: str) -> list[DeliveryCount]:
        """Messages Twilio accepted, counted by delivery status per ``flow`` or ``theirs``."""
        if by not in REPORT_GROUPS:
            raise ValueError("a delivery report groups by 'flow' or 'theirs'")
        return await self.run(programs.delivery_report(by), atomic=False)

    async def mark_undeliverable(self, address: str, code: int, at: datetime) -> None:
        """Record that ``address`` cannot receive messages."""
        await self.run(programs.mark_undeliverable(self.dialect, address, code, at), atomic=False)

    async def finish_timer(self, timer: Timer, reason: str = programs.MOVED_ON) -> bool:
        """Delete a timer that will not fire (unless it was rescheduled meanwhile); whether
        it was still there."""
        return await self.run(programs.finish_timer(self.dialect, timer, reason), atomic=True)


def _probe() -> Program[bool]:
    """Rewrite the health row: a write in a transaction of its own, like a turn's commit."""
    yield (
        (
            "INSERT INTO health (probe, at) VALUES ('readiness', CURRENT_TIMESTAMP) "
            "ON CONFLICT (probe) DO UPDATE SET at = CURRENT_TIMESTAMP"
        ),
        (),
    )
    return True


PRIMITIVES = frozenset(Backend.__abstractmethods__)
