"""The addresses in ``From`` and ``To``: every form Twilio really sends, and nothing else.

Phone numbers are checked and normalised to E.164 with ``phonenumbers`` (Google's
libphonenumber, the maintained reference): a possible number for its country, written
``+15550001111``. Accepted as they are: ``whatsapp:`` + a phone number, short codes
(3-8 digits), ``client:`` and ``sip:`` endpoints, and withheld caller IDs (``anonymous``,
``unknown``, ``restricted``, ``private``, ``blocked``, ``unavailable``, or the word spelled on a
keypad, ``+266696687``, which becomes the word). Anything else is a
:class:`~bot.errors.BadRequest` (400) that says what was wrong — notably ``' 15550001111'``,
the shape a ``+`` takes when a form body is not URL-encoded (``curl -d From=+1…``).
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from bot.errors import BadRequest
from bot.events.quoting import quoted

__all__ = ["WITHHELD", "address"]

WITHHELD = frozenset({"anonymous", "unknown", "restricted", "private", "blocked", "unavailable"})
# Twilio's voice has sent a withheld caller ID spelled on a keypad (its changelog, 16 Nov 2022:
# it "translates the alpha string into digits"): +266696687 is ANONYMOUS. Most are not
# possible numbers, and none is one person: each is read as its word.
_KEYPAD = str.maketrans("abcdefghijklmnopqrstuvwxyz", "22233344455566677778889999")
_SPELLED = {"+" + word.translate(_KEYPAD): word for word in WITHHELD}
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
_ENDPOINT = re.compile(r"(client|sip):\S+")


# Parsing a number costs ~0.2 M instructions (a third of the webhook's own share of a
# request): the numbers seen lately are normalised from a bounded cache. Only valid numbers
# are kept (a raised BadRequest is not cached), so bad input cannot fill it.
@lru_cache(maxsize=8192)
def _e164(raw: str, field: str) -> str:
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise BadRequest(f"{field} {quoted(raw)} is not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise BadRequest(f"{field} {quoted(raw)} is not a possible phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def address(raw: str, field: str, *, voice: bool = False) -> str:
    """``raw`` as Switchboard keys it (E.164 normalised), or :class:`BadRequest` (400)."""
    if raw.startswith("whatsapp:") and not voice:
        return "whatsapp:" + _e164(raw.removeprefix("whatsapp:"), field)
    if voice and raw in _SPELLED:
        return _SPELLED[raw]
    if raw.startswith("+"):
        return _e164(raw, field)
    if _SHORT_CODE.fullmatch(raw) or _ENDPOINT.fullmatch(raw):
        return raw
    if voice and raw.casefold() in WITHHELD:
        return raw
    if raw[:1].isspace() and raw.strip().isdigit():
        raise BadRequest(
            f"{field} {quoted(raw)} is not an address: a '+' sent unencoded in a form body "
            "arrives as a space; encode it as %2B (curl --data-urlencode)"
        )
    raise BadRequest(
        f"{field} {quoted(raw)} is not an address Twilio sends: use +E.164, whatsapp:+E.164, "
        "a short code, client:… or sip:…"
    )
