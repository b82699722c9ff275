"""Typed events built from the parameters Twilio posts.

Every parameter, known or not, stays available on ``event.params`` (a multi-dict);
the typed fields are conveniences over it, never a filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from werkzeug.datastructures import MultiDict

from bot.errors import BadRequest

__all__ = [
    "Channel",
    "Event",
    "InboundMessage",
    "InternalEvent",
    "Location",
    "Media",
    "Params",
    "channel_of",
    "parse_inbound",
    "parse_message",
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


@dataclass(frozen=True, slots=True)
class InboundMessage(Event):
    """An SMS, MMS or WhatsApp message from a person."""

    message_sid: str = ""
    body: str = ""
    media: tuple[Media, ...] = ()
    profile_name: str | None = None
    wa_id: str | None = None
    button_text: str | None = None
    button_payload: str | None = None
    location: Location | None = None

    @property
    def kind(self) -> str:
        return "message"

    @property
    def sid(self) -> str:
        return self.message_sid

    @property
    def dedupe_key(self) -> str | None:
        return f"msg:{self.message_sid}"

    @property
    def text(self) -> str:
        """The body with surrounding white space removed (a button's text when no body)."""
        return (self.body or self.button_text or "").strip()


def channel_of(address: str) -> Channel:
    """The messaging channel of an address: ``whatsapp:+1…``, or a number / short code / sender ID.

    Other channel prefixes (``messenger:``, ``rcs:`` …) are refused with :class:`BadRequest`
    rather than being mistaken for SMS, which would also strip them from keys and the ledger.
    """
    if address.startswith("whatsapp:"):
        return Channel.WHATSAPP
    prefix, sep, _ = address.partition(":")
    if sep and prefix.isalpha():
        raise BadRequest(f"address {address!r} is on a channel Switchboard does not handle")
    return Channel.SMS


def strip_channel(address: str) -> str:
    """``whatsapp:+14155550100`` → ``+14155550100``."""
    prefix, sep, rest = address.partition(":")
    return rest if sep and prefix.isalpha() else address


def _required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise BadRequest(f"missing required parameter {name!r}")
    return value


def _media(params: Params) -> tuple[Media, ...]:
    raw = params.get("NumMedia", "0") or "0"
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 10:
        raise BadRequest(f"NumMedia must be a whole number from 0 to 10, got {raw!r}")
    items = []
    for i in range(int(raw)):
        url = _required(params, f"MediaUrl{i}")
        items.append(Media(url, params.get(f"MediaContentType{i}", "application/octet-stream")))
    return tuple(items)


def _location(params: Params) -> Location | None:
    lat, lon = params.get("Latitude"), params.get("Longitude")
    if not lat or not lon:
        return None
    try:
        return Location(float(lat), float(lon), params.get("Address"), params.get("Label"))
    except ValueError as exc:
        raise BadRequest(f"Latitude/Longitude must be numbers, got {lat!r}/{lon!r}") from exc


def parse_message(params: Params) -> InboundMessage:
    """Build an :class:`InboundMessage` from an inbound message webhook's parameters."""
    from_, to = _required(params, "From"), _required(params, "To")
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or ""
    if not sid:
        raise BadRequest("missing required parameter 'MessageSid'")
    if channel_of(from_) is not channel_of(to):
        raise BadRequest(f"From {from_!r} and To {to!r} are on different channels")
    return InboundMessage(
        channel=channel_of(from_),
        from_=from_,
        to=to,
        params=params,
        message_sid=sid,
        body=params.get("Body", ""),
        media=_media(params),
        profile_name=params.get("ProfileName"),
        wa_id=params.get("WaId"),
        button_text=params.get("ButtonText"),
        button_payload=params.get("ButtonPayload"),
        location=_location(params),
    )


def parse_inbound(
    params: Params, query: Mapping[str, str] | None = None, webhook: str = ""
) -> Event:
    """The typed event for any inbound webhook posted to ``/twilio``.

    ``query`` is the request's query string and ``webhook`` the public URL of the endpoint
    (voice action URLs carry their step in the query and point back to ``webhook``).
    """
    query = query or {}
    if "MessageSid" in params or "SmsMessageSid" in params or "SmsSid" in params:
        return parse_message(params)
    if "CallSid" in params or "CallStatus" in params or "on" in query:
        from bot.voice.events import parse_voice  # voice builds on this module

        return parse_voice(params, query, webhook)
    return parse_message(params)
