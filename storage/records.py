"""What the store keeps, as plain records: conversations, their log, consent, the outbox,
delivery statuses and timers. No I/O here; the backends read and write these.

Records are frozen, except the five a turn builds every time (:class:`Conversation`,
:class:`LogEntry`, :class:`Contact`, :class:`Loaded`, :class:`TurnWrite`): a frozen
dataclass sets each field through ``object.__setattr__``, about three times the cost of a
plain slot, and these hold dicts and lists, so they were never hashable. Treat them as
read-only all the same: nothing changes one after it is built (``dataclasses.replace``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from storage.history import AuditEntry

__all__ = [
    "DELIVERY_RANK",
    "FAILED_DELIVERY",
    "OPTED_IN",
    "OPTED_OUT",
    "Attempt",
    "AttemptStart",
    "ConsentChange",
    "ConsentSource",
    "ConsentStatus",
    "Contact",
    "Conversation",
    "DeliveryCount",
    "DeliveryUpdate",
    "Direction",
    "HistoryEntry",
    "Loaded",
    "LogEntry",
    "Marker",
    "OutboundMessage",
    "OutboxChange",
    "OutboxStatus",
    "Purpose",
    "Timer",
    "TurnWrite",
    "delivery_advances",
]


class Purpose(StrEnum):
    """Why a message goes out; stored with every outbox row and refusal.

    ``reply`` a TwiML answer to the person's message; ``send`` a ``turn.send``; ``consent``
    our answer to a consent keyword (the only thing an opted-out person may get); ``start``
    what a flow says when we start a conversation; ``timer`` what a flow says when a timer
    fires (a reminder, a time-out); ``campaign`` a marketing message and ``reminder`` a
    reminder marked as such: the two non-transactional purposes, held outside quiet hours
    and sent at most once (see docs/outbound.md and docs/compliance.md).
    """

    REPLY = "reply"
    SEND = "send"
    CONSENT = "consent"
    START = "start"
    TIMER = "timer"
    CAMPAIGN = "campaign"
    REMINDER = "reminder"

    @property
    def transactional(self) -> bool:
        """Whether the message answers or serves the person now (not a campaign or reminder)."""
        return self not in {Purpose.CAMPAIGN, Purpose.REMINDER}


class Direction(StrEnum):
    """Which way a logged message went."""

    IN = "in"
    OUT = "out"


class Marker(StrEnum):
    """The kind of a log entry about the conversation itself rather than a message: migrated
    to the running version of its flow, or lost (that version could not place it); a
    subflow called, or returned to its caller."""

    MIGRATED = "migrated"
    LOST = "lost"
    CALLED = "called"
    RETURNED = "returned"


class ConsentStatus(StrEnum):
    """A person's consent in a scope, as the ledger's latest entry says."""

    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"


class ConsentSource(StrEnum):
    """Who or what changed a person's consent."""

    KEYWORD = "keyword"  # they sent STOP, START, …
    CARRIER = "carrier"  # a send failed with error 21610
    OPERATOR = "operator"
    API = "api"
    IMPORT = "import"


class OutboxStatus(StrEnum):
    """Where an outbox row stands (its delivery status is apart: Twilio's MessageStatus)."""

    PENDING = "pending"  # due at due_at
    CLAIMED = "claimed"  # leased to a worker
    ACCEPTED = "accepted"  # Twilio took it
    BLOCKED = "blocked"  # the consent/window gate refused it
    FAILED = "failed"  # a permanent error, or retries spent


OPTED_OUT = ConsentStatus.OPTED_OUT  # the names bot.compliance imports


OPTED_IN = ConsentStatus.OPTED_IN


@dataclass(slots=True)  # not frozen: built every turn (module doc)
class Conversation:
    """A conversation as stored. ``version`` counts committed turns (0 = never stored).

    ``flow_version`` and ``flow_shape`` are the version of its flow it runs: the flow's
    declared number and its definition's structural fingerprint (0 and ``""`` for a row
    written before versions existed; see docs/flows.md, "Changing a live flow").

    ``stack`` holds the callers of a running subflow, outermost first: each a JSON object
    (its flow, the state it waits in, its data, its version; docs/flows.md, "Subflows").
    ``flow``/``state``/``data`` are the running (innermost) flow's.
    """

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
    flow_version: int = 0
    flow_shape: str = ""
    stack: tuple[dict[str, Any], ...] = ()


@dataclass(slots=True)  # not frozen: built every turn (module doc)
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
    Messaging Service SID; ``status`` a :class:`ConsentStatus` and ``source`` a
    :class:`ConsentSource` (plain strings are turned into them; others are refused);
    ``detail`` says more (the keyword sent, the failed message's SID, who changed it).
    """

    person: str
    scope: str
    status: ConsentStatus
    source: ConsentSource
    at: datetime
    channel: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"consent status must be {OPTED_OUT!r} or {OPTED_IN!r}")
        if self.source not in _SOURCES:
            raise ValueError(f"consent source must be one of {sorted(_SOURCES)}")
        object.__setattr__(self, "status", ConsentStatus(self.status))
        object.__setattr__(self, "source", ConsentSource(self.source))


_STATUSES = frozenset(s.value for s in ConsentStatus)
_SOURCES = frozenset(s.value for s in ConsentSource)


@dataclass(slots=True)  # not frozen: built every turn (module doc)
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


@dataclass(slots=True)  # not frozen: built every turn (module doc)
class Loaded:
    """What :meth:`Store.load` found: a stored response for a duplicate, or the conversation."""

    response: str | None
    conversation: Conversation | None


@dataclass(slots=True)  # not frozen: built every turn (module doc)
class TurnWrite:
    """Everything one turn writes, committed together or not at all.

    ``conversation.version`` is the new version; the write succeeds only if the stored
    version is still ``conversation.version - 1``. With ``save_state=False`` (a step that
    was rolled back) only the log, the idempotency records, ``consent`` and the window are
    written. ``consent`` entries join the ledger; ``touch_window`` records ``at`` as the
    person's last inbound message on this (WhatsApp) conversation. ``outbox`` holds the
    messages the turn sends through the REST API, ``timers`` the timers it sets, and
    ``fired`` the timer this turn is the firing of (deleted with the turn). Every timer
    set, fired or dropped is recorded in the timer history in the same transaction.

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
    # every timer of the conversation goes before ``timers`` are set: a subflow call pauses
    # its caller's (kept in the call stack), a return cancels the child's
    clear_timers: bool = False
    # an operator's action: its audit entry, committed with it or not at all
    audit: AuditEntry | None = None
    # who dropped ``fired`` without firing it (an operator cancelling it): history says so
    dropped_by: str | None = None


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
    purpose: Purpose = Purpose.REPLY
    template: str | None = None  # kind of message, for the gate to pick an approved template
    conversation: str | None = None
    flow: str | None = None
    status: OutboxStatus = OutboxStatus.PENDING
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
    # The exact request of the latest attempt (To, From, Body, ContentSid, …) and when it
    # started; ``attempt_at`` is None once that attempt's outcome is known.
    wire: Mapping[str, Any] | None = None
    attempt_at: datetime | None = None
    http_status: int | None = None  # the HTTP status of the latest failure, apart from the code

    @property
    def unsettled(self) -> bool:
        """Whether an attempt started and nobody knows whether Twilio took it (``sid`` may
        still name an earlier attempt, retried after a transient delivery failure)."""
        return self.attempt_at is not None


@dataclass(frozen=True, slots=True)
class OutboxChange:
    """What a worker writes back for a claimed message (its lease is released)."""

    status: OutboxStatus
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
    body: str | None = None  # what was sent, when the gate or smart encoding changed it
    content_sid: str | None = None
    content_variables: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    http_status: int | None = None
    # False: the latest attempt's outcome is known now (attempt_at is cleared); True: keep it
    settled: bool = True


class AttemptStart(StrEnum):
    """What :meth:`OutboxStore.begin_attempt` found."""

    STARTED = "started"  # recorded: call Twilio now
    OPTED_OUT = "opted_out"  # the ledger, as committed, says the person opted out: do not
    LOST_LEASE = "lost_lease"  # another worker has the message


@dataclass(frozen=True, slots=True)
class Attempt:
    """An attempt about to start: its number, exact request and start time, and the
    (person, scope) whose consent the store checks in the same transaction (None: no check,
    e.g. our answer to their own STOP)."""

    number: int
    wire: Mapping[str, Any]
    at: datetime
    consent: tuple[str, str] | None = None


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
    def final(self) -> int:
        """Messages with a final outcome: delivered or read, or failed, undelivered, canceled."""
        return self.delivered + sum(self.by_status.get(s, 0) for s in FAILED_DELIVERY)

    @property
    def rate(self) -> float:
        """Delivered (or read) messages over those with a final outcome; 0 when none."""
        return self.delivered / self.final if self.final else 0.0


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
