"""Twilio's ids (SIDs) checked by shape: two letters and 32 hexadecimal digits.

Twilio's signature joins names and values without a separator, so one signed request can be
re-cut into other parameters that still validate (``MessageSid`` swallowing the next one:
``MessageSid=SM…NumMedia0``). Every id the framework keys on is checked here, so a re-cut
request either keeps its ids, and is a duplicate of the original, or is refused.
"""

from __future__ import annotations

import re

from bot.errors import BadRequest
from bot.events.model import Params

__all__ = ["SID_PREFIXES", "check_sids", "is_sid"]

_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")

# The parameters that carry ids, and the prefixes Twilio gives them.
_MESSAGE = ("SM", "MM")
SID_PREFIXES: dict[str, tuple[str, ...]] = {
    "MessageSid": _MESSAGE,
    "SmsSid": _MESSAGE,
    "SmsMessageSid": _MESSAGE,
    "OriginalRepliedMessageSid": _MESSAGE,
    "AccountSid": ("AC",),
    "MessagingServiceSid": ("MG",),
    "CallSid": ("CA",),
    "ParentCallSid": ("CA",),
    "DialCallSid": ("CA",),
    "RecordingSid": ("RE",),
    "TranscriptionSid": ("TR",),
}


def is_sid(value: str, prefixes: tuple[str, ...] = ()) -> bool:
    """Whether ``value`` is two capital letters (one of ``prefixes``) and 32 hex digits."""
    return bool(_SID.fullmatch(value)) and (not prefixes or value[:2] in prefixes)


def check_sids(params: Params) -> None:
    """:class:`BadRequest` unless every id parameter present has its shape, once, and the
    message ids a request repeats (``MessageSid``, ``SmsSid``, ``SmsMessageSid``) agree."""
    lists = dict.get  # a MultiDict keeps each name's values as a list: read it directly,
    for name, prefixes in SID_PREFIXES.items():  # as getlist raises and catches per absent name
        values = lists(params, name) or ()
        if len(values) > 1:
            raise BadRequest(f"{name} is given {len(values)} times")
        if values and values[0] and not is_sid(values[0], prefixes):
            shape = " or ".join(prefixes)
            raise BadRequest(f"{name} {values[0][:40]!r} is not a Twilio id ({shape} + 32 hex)")
    message_ids = {params.get(n) for n in ("MessageSid", "SmsSid", "SmsMessageSid")} - {None, ""}
    if len(message_ids) > 1:
        raise BadRequest("MessageSid, SmsSid and SmsMessageSid name different messages")
