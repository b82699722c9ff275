"""The exact request a send makes, stored before Twilio is called (the ``wire`` column).

It holds Twilio's parameter names and values as they go out: ``To``, ``From``, ``Body`` (after
smart encoding and after the gate substituted a template), ``MediaUrl``, ``ContentSid``,
``ContentVariables`` and ``StatusCallback``. Reconciliation compares Twilio's list with it,
never with the message as it was queued.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.outbound.segments import smart_encode
from storage.records import OutboundMessage

__all__ = ["Wire", "callback_url", "create_arguments", "wire_request"]

Wire = dict[str, Any]


def callback_url(status_callback: str | None, message_id: str) -> str | None:
    """The message's ``StatusCallback``: the status URL naming our id (``ob``), or None."""
    if not status_callback:
        return None
    joiner = "&" if "?" in status_callback else "?"
    return f"{status_callback}{joiner}ob={quote(message_id, safe='')}"


def wire_request(message: OutboundMessage, smart: bool, status_callback: str | None) -> Wire:
    """The request that sends ``message`` (as the gate admitted it)."""
    wire: Wire = {"To": message.theirs, "From": message.ours}
    body = smart_encode(message.body) if smart else message.body
    if body:
        wire["Body"] = body
    if message.media:
        wire["MediaUrl"] = list(message.media)
    if message.content_sid:
        wire["ContentSid"] = message.content_sid
        if message.content_variables:
            wire["ContentVariables"] = message.content_variables
    if status_callback:
        wire["StatusCallback"] = status_callback
    return wire


def create_arguments(wire: Wire) -> dict[str, Any]:
    """``wire`` as keyword arguments of :meth:`bot.outbound.sender.Sender.create_message`."""
    return {
        "to": wire["To"], "from_": wire["From"], "body": wire.get("Body", ""),
        "media": tuple(wire.get("MediaUrl", ())), "content_sid": wire.get("ContentSid"),
        "content_variables": wire.get("ContentVariables"),
        "status_callback": wire.get("StatusCallback"),
    }  # fmt: skip
