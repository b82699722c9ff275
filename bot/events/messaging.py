"""Inbound SMS, MMS and WhatsApp messages: the event and its parsing."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.errors import BadRequest
from bot.events.addresses import address
from bot.events.model import Event, Location, Media, Params, channel_of
from bot.events.quoting import quoted

__all__ = ["InboundMessage", "parse_message"]


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


def _required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise BadRequest(f"missing required parameter {name!r}")
    return value


def _media(params: Params) -> tuple[Media, ...]:
    raw = params.get("NumMedia", "0") or "0"
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 10:
        raise BadRequest(f"NumMedia must be a whole number from 0 to 10, got {quoted(raw)}")
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
        latitude, longitude = float(lat), float(lon)
    except ValueError:
        latitude = longitude = math.nan
    # float() also reads nan, inf and 1e999: none is a place
    if not (abs(latitude) <= 90 and abs(longitude) <= 180):
        shown = f"{quoted(lat)}/{quoted(lon)}"
        raise BadRequest(f"Latitude/Longitude must be degrees (±90/±180), got {shown}")
    return Location(latitude, longitude, params.get("Address"), params.get("Label"))


def parse_message(params: Params) -> InboundMessage:
    """Build an :class:`InboundMessage` from an inbound message webhook's parameters."""
    from_, to = _required(params, "From"), _required(params, "To")
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or ""
    if not sid:
        raise BadRequest("missing required parameter 'MessageSid'")
    if channel_of(from_) is not channel_of(to):
        raise BadRequest(f"From {quoted(from_)} and To {quoted(to)} are on different channels")
    from_, to = address(from_, "From"), address(to, "To")
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
