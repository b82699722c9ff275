"""Typed events built from the parameters Twilio posts.

Every parameter, known or not, stays available on ``event.params`` (a multi-dict);
the typed fields are conveniences over it, never a filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from werkzeug.datastructures import MultiDict

from bot.errors import BadRequest
from bot.events.quoting import quoted

__all__ = [
    "Channel",
    "Event",
    "InternalEvent",
    "Location",
    "Media",
    "Params",
    "channel_of",
    "strip_channel",
]

Params = MultiDict[str, str]


class Channel(StrEnum):
    """Where a conversation happens."""

    SMS = "sms"
    WHATSAPP = "whatsapp"
    VOICE = "voice"


@dataclass(frozen=True, slots=True)
class Media:
    """One attachment of an MMS or WhatsApp message."""

    url: str
    content_type: str


@dataclass(frozen=True, slots=True)
class Location:
    """A location shared over WhatsApp."""

    latitude: float
    longitude: float
    address: str | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every inbound event: who, to which number, on which channel."""

    channel: Channel
    from_: str
    to: str
    params: Params = field(repr=False, compare=False)

    @property
    def kind(self) -> str:
        """The trigger name this event fires in a flow."""
        raise NotImplementedError

    @property
    def sid(self) -> str:
        """Twilio's id for what this event reports (a MessageSid or CallSid)."""
        raise NotImplementedError

    @property
    def dedupe_key(self) -> str | None:
        """A natural key naming this delivery, so a retried webhook is answered once."""
        return None

    @property
    def text(self) -> str:
        """The text the person sent or said; ``""`` when the event carries none."""
        return ""

    @property
    def is_input(self) -> bool:
        """Whether this is something the person said or pressed, so that input no transition
        takes becomes the ``invalid`` trigger (a status callback is not)."""
        return True

    @property
    def can_start(self) -> bool:
        """Whether this event may start a conversation (a late status callback may not)."""
        return True

    @property
    def ends_conversation(self) -> bool:
        """Whether the conversation is over after this event, whatever state it is in."""
        return False

    @property
    def log_meta(self) -> dict[str, str]:
        """What the message log keeps about this event besides its text and media."""
        return {}


@dataclass(frozen=True, slots=True)
class InternalEvent(Event):
    """An event raised inside Switchboard (a timer firing, a conversation started by us).

    Nobody waits for its TwiML: what the flow says is sent through the outbox instead.
    ``flow_name`` picks the flow to run given the stored conversation (``None``: do nothing);
    ``restart`` starts the flow afresh even when a conversation is open; ``seed`` is the
    data a fresh conversation starts with.
    """

    restart: bool = field(default=False, kw_only=True)
    seed: dict[str, Any] = field(default_factory=dict, kw_only=True, compare=False)

    def flow_name(self, flow: str | None, state: str | None, closed: bool) -> str | None:
        """The flow to run, given the stored conversation's flow, state and closed flag."""
        raise NotImplementedError


def channel_of(address: str) -> Channel:
    """The messaging channel of an address: ``whatsapp:+1…``, or a number / short code / sender ID.

    Other channel prefixes (``messenger:``, ``rcs:`` …) are refused with :class:`BadRequest`
    rather than being mistaken for SMS, which would also strip them from keys and the ledger.
    """
    if address.startswith("whatsapp:"):
        return Channel.WHATSAPP
    prefix, sep, _ = address.partition(":")
    if sep and prefix.isalpha():
        raise BadRequest(f"address {quoted(address)} is on a channel Switchboard does not handle")
    return Channel.SMS


def strip_channel(address: str) -> str:
    """``whatsapp:+14155550100`` → ``+14155550100``."""
    if ":" not in address:  # most addresses (a number): no partition, no new strings
        return address
    prefix, _, rest = address.partition(":")
    return rest if prefix.isalpha() else address
