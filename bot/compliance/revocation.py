"""Revoking consent in words: short messages that clearly say "stop", beyond the keywords.

The FCC's TCPA consent-revocation order (February 2024, CG Docket No. 02-278; 47 CFR
§ 64.1200(a)(10), in force for texts since April 2025) requires honouring a revocation made
by "any reasonable means",
and names "stop", "quit", "end", "revoke", "opt out", "cancel" and "unsubscribe" as words
that revoke when sent as a reply (they are in the default keyword list, see
``bot.compliance.config``). Beyond the exact words, a person who writes "please stop", "stop
texting me" or "unsubscribe me" has clearly revoked, too.

Policy :attr:`Revocation.PHRASES` (the default, per number in
:class:`~bot.compliance.config.NumberPolicy`) treats a message as an opt-out when, after the
keyword check failed, the *whole* message (at most :data:`MAX_WORDS` words, politeness
around it allowed) is one of these shapes:

- a stop verb (stop, quit, end, cancel, unsubscribe, opt out, revoke, remove) with, at most,
  an object about messages to the person: "stop texting me", "cancel my messages",
  "unsubscribe me", "opt me out", "remove me from this list"; "stop it" and "quit all"
  (but not "cancel it" or "end it", which a flow may have asked about an appointment);
- a refusal of messages: "don't text me", "do not message me anymore", "no more texts";
- "leave me alone", "take me off your list".

A sentence that merely contains a stop word ("can you stop by tomorrow", "I want to cancel my
appointment", "end of the day works") is not: its words outside the shapes make it ordinary
text for the flow. :attr:`Revocation.KEYWORDS` turns phrases off (exact keywords only).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

__all__ = ["MAX_WORDS", "Revocation", "revokes"]

MAX_WORDS = 8


class Revocation(StrEnum):
    """How much beyond the exact keywords counts as revoking consent."""

    KEYWORDS = "keywords"  # only the opt-out keyword list
    PHRASES = "phrases"  # also the short revocation phrases described above


_POLITE = r"(?:please|pls|plz|kindly|ok|okay|hey|hi|hello|just|now|thanks|thank you|thx|ty|sir|" \
    r"maam|again|already|seriously|i said|i want to|i would like to|id like to|can you|" \
    r"could you|would you)"  # fmt: skip
_MESSAGES = r"(?:texts?|messages?|msgs?|txts?|sms|notifications?|reminders?|alerts?)"
_ME = r"(?:me|us|my number|this number)"
_SEND = r"(?:texting|messaging|txting|msging|contacting|sending|calling|spamming|bothering)"
_STOP = r"(?:stop|quit|end|cancel|unsubscribe|opt ?out|optout|revoke|remove|unsub)"
_OWNER = r"(?:the|these|this|those|your|my|all|all the|all of the|any)"
_LIST = r"(?:list|lists|texts|messages|this|it|them|these)"
_OBJECT = (
    rf"(?:{_SEND}(?: {_ME})?(?: {_MESSAGES})?|{_ME}(?: out)?|(?:{_OWNER} )?{_MESSAGES})"
    rf"(?: (?:from|off) (?:{_OWNER} )?{_LIST})?"
)
_SHAPES = (
    rf"{_STOP}(?: {_OBJECT})?",
    r"(?:stop|quit) (?:it|all|this|that|them|everything)",  # not "cancel it": an appointment
    rf"opt {_ME} out",
    rf"(?:do not|dont|never|no longer) (?:text|message|msg|txt|contact|send|sms)(?: {_ME})?"
    rf"(?: {_MESSAGES})?(?: (?:again|anymore|any more|ever))?",
    rf"no more {_MESSAGES}",
    r"leave me alone",
    rf"take {_ME} off (?:{_OWNER} )?{_LIST}",
)
_PHRASE = re.compile(
    rf"^(?:{_POLITE} )*(?:{'|'.join(_SHAPES)})(?: {_POLITE})*(?: (?:anymore|any more|again))?$"
)


# ASCII bytes: letters and digits lower-cased, every other mark a space (apostrophes are
# deleted by the translate call). bytes.translate is a table lookup; str.translate with a dict
# costs a dict lookup per character.
# Every shape holds one of these as a whole word (its verb or negation): a message with none
# of them cannot match _PHRASE. tests/outbound/test_revocation.py checks it over the phrases.
_ANCHORS = frozenset(
    {
        "stop", "quit", "end", "cancel", "unsubscribe", "unsub", "opt", "optout", "out",
        "revoke", "remove", "not", "dont", "never", "no", "longer", "more", "leave", "take",
    }
)  # fmt: skip

_ASCII_WORDS = bytes(
    ord(chr(c).lower()) if c < 128 and chr(c).isalnum() else ord(" ") for c in range(256)
)


def _words(text: str) -> str:
    """Lower-case words separated by single spaces: apostrophes dropped, other marks spaces."""
    if text.isascii():  # NFKC and casefold are lower(), no format characters: one pass
        return " ".join(text.encode().translate(_ASCII_WORDS, b"'").decode().split())
    folded = unicodedata.normalize("NFKC", text).casefold()
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    bare = visible.replace("'", "").replace("\u2019", "")
    spaced = "".join(c if c.isalnum() else " " for c in bare)
    return " ".join(spaced.split())


def revokes(text: str, policy: Revocation = Revocation.PHRASES) -> bool:
    """Whether ``text`` (not an exact keyword) clearly revokes consent under ``policy``."""
    if policy is Revocation.KEYWORDS:
        return False
    words = _words(text)
    if not words or words.count(" ") >= MAX_WORDS:  # single spaces: words less one
        return False
    if _ANCHORS.isdisjoint(words.split()):  # most messages: no shape can match, no regex
        return False
    return _PHRASE.match(words) is not None
