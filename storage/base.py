"""The store interface: a handful of async methods every backend implements.

A turn costs the store two round trips: :meth:`Store.load` (the idempotency records asked
for and the conversation, in one hop) and :meth:`Store.commit` (conversation, message log and
idempotency record in **one transaction**, guarded by the conversation's version and by the
heads of the contacts the turn read), plus one for messaging turns: :meth:`Store.contact`
(consent and WhatsApp window, for ``bot.gate``).

The consent ledger is append-only: a person's status in a scope is their latest change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime

from storage.outbox import OutboxStore
from storage.records import ConsentChange, Contact, Conversation, Loaded, LogEntry, TurnWrite

__all__ = ["Store"]


class Store(OutboxStore, ABC):
    """A conversation store. Backends: ``storage.sqlite``, ``storage.postgres``."""

    @abstractmethod
    async def open(self) -> None:
        """Connect and check (or, where configured, upgrade) the schema."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; safe to call twice."""

    @abstractmethod
    async def ping(self) -> bool:
        """Whether the database answers a trivial query."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Keep other processes off conversation ``key`` for one turn (load, step, commit).

        The engine already runs one turn per key at a time within a process; this default
        holds nothing more, and a turn raced by another process fails the version guard of
        :meth:`commit` and is redone. PostgreSQL overrides it with an advisory lock, so a
        step is never run twice.
        """
        return nullcontext()

    @abstractmethod
    async def load(self, key: str, idempotency_keys: Sequence[str]) -> Loaded:
        """The stored response for any of ``idempotency_keys``, else the conversation."""

    @abstractmethod
    async def commit(self, write: TurnWrite) -> str | None:
        """Write a turn atomically.

        Returns ``None`` when written, or the response stored earlier when one of the
        idempotency keys was already recorded (nothing is written then). Raises
        :class:`~bot.errors.ConflictError` when the conversation's version moved on, or the
        head of one of ``write.contacts`` did.
        """

    @abstractmethod
    async def conversation(self, key: str) -> Conversation | None:
        """The stored conversation, or ``None``."""

    @abstractmethod
    async def log(self, key: str) -> list[LogEntry]:
        """The conversation's message log, oldest first."""

    @abstractmethod
    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        """``person``'s consent in ``scope`` and, when ``window`` (a WhatsApp conversation key)
        is given, the time of their last inbound message there; with its ``head``."""

    @abstractmethod
    async def record_consent(self, change: ConsentChange) -> None:
        """Append ``change`` to the consent ledger (outside a turn: carrier, operator, import)."""

    @abstractmethod
    async def consent_history(self, person: str) -> list[ConsentChange]:
        """Every consent change of ``person`` in every scope, oldest first."""

    @abstractmethod
    async def close_window(self, window: str, at: datetime) -> bool:
        """Mark the WhatsApp window of conversation ``window`` closed, unless the person wrote
        after ``at``; returns whether it was open before."""

    @abstractmethod
    async def history(
        self, theirs: str, *, exclude: str = "", limit: int = 5
    ) -> list[Conversation]:
        """The latest conversations with the address ``theirs`` (newest first), except
        ``exclude``: a new call starts knowing what earlier ones stored."""
