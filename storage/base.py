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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.outbox import OutboundMessage, OutboxStore, Timer

__all__ = [
    "OPTED_IN",
    "OPTED_OUT",
    "ConsentChange",
    "Contact",
    "Conversation",
    "Direction",
    "Loaded",
    "LogEntry",
    "Store",
    "TurnWrite",
]

Direction = str  # "in" or "out"
OPTED_OUT = "opted_out"
OPTED_IN = "opted_in"


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation as stored. ``version`` counts committed turns (0 = never stored)."""

    key: str
    flow: str
    state: str
    data: dict[str, Any]
    version: int
    channel: str
    ours: str
    theirs: str
    closed: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One message (or call event) in a conversation's log."""

    conversation: str
    direction: Direction
    kind: str
    body: str
    at: datetime
    sid: str | None = None
    channel: str = ""
    media: tuple[str, ...] = ()
    state_before: str | None = None
    state_after: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One entry of the consent ledger.

    ``person`` is the address without channel prefix (``+1…``); ``scope`` is our number or
    Messaging Service SID; ``status`` is :data:`OPTED_OUT` or :data:`OPTED_IN`; ``source`` is
    ``keyword``, ``carrier`` (error 21610), ``operator``, ``api`` or ``import``; ``detail``
    says more (the keyword sent, the failed message's SID, who changed it).
    """

    person: str
    scope: str
    status: str
    source: str
    at: datetime
    channel: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.status not in (OPTED_OUT, OPTED_IN):
            raise ValueError(f"consent status must be {OPTED_OUT!r} or {OPTED_IN!r}")


@dataclass(frozen=True, slots=True)
class Contact:
    """What the outbound gate needs to know about a person before sending.

    :meth:`Store.contact` also says where it read them (``scope``, ``person``, ``window``)
    and ``head``, the store's token for what it read: the latest consent entry in the scope
    and the window's last inbound message. A turn hands the contacts it decided on back in
    :attr:`TurnWrite.contacts`; its commit fails with ``ConflictError`` when any head moved
    in between. These four fields are not part of equality (a contact *is* its consent and
    window), and ``head`` is empty on a contact that was not read from a store.
    """

    opted_out: bool = False
    last_inbound: datetime | None = None  # their last message on a WhatsApp conversation
    scope: str = field(default="", compare=False)
    person: str = field(default="", compare=False)
    window: str | None = field(default=None, compare=False)
    head: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What :meth:`Store.load` found: a stored response for a duplicate, or the conversation."""

    response: str | None
    conversation: Conversation | None


@dataclass(frozen=True, slots=True)
class TurnWrite:
    """Everything one turn writes, committed together or not at all.

    ``conversation.version`` is the new version; the write succeeds only if the stored
    version is still ``conversation.version - 1``. With ``save_state=False`` (a step that
    was rolled back) only the log, the idempotency records, ``consent`` and the window are
    written. ``consent`` entries join the ledger; ``touch_window`` records ``at`` as the
    person's last inbound message on this (WhatsApp) conversation. ``outbox`` holds the
    messages the turn sends through the REST API, ``timers`` the timers it sets, and
    ``fired`` the timer this turn is the firing of (deleted with the turn).

    ``contacts`` are the contacts (from :meth:`Store.contact`) the turn's replies were
    screened against: the write also succeeds only if each one's ``head`` is unchanged, i.e.
    nobody changed that person's consent in that scope, or touched or closed that window,
    since the turn read it (in any conversation, in any process).
    """

    conversation: Conversation
    log: Sequence[LogEntry]
    idempotency_keys: Sequence[str]
    response: str
    at: datetime
    save_state: bool = True
    consent: Sequence[ConsentChange] = ()
    touch_window: bool = False
    outbox: Sequence[OutboundMessage] = ()
    timers: Sequence[Timer] = ()
    fired: Timer | None = None
    # whether the conversation may have left a state (timers bound to other states go then)
    moved: bool = True
    contacts: Sequence[Contact] = ()


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
