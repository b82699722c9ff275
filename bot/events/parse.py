"""Which event a request to ``/twilio`` is: a message, or a call and its actions."""

from __future__ import annotations

from collections.abc import Mapping

from bot.events.messaging import parse_message
from bot.events.model import Event, Params

__all__ = ["parse_inbound"]


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
        from bot.events.voice import parse_voice  # voice builds on this module

        return parse_voice(params, query, webhook)
    return parse_message(params)
