"""Conditions for voice transitions: ``T("gather", "menu", "sales", conditions=pressed("1"))``.

Like :mod:`bot.conditions`, each returns a plain callable taking the turn. Speech is matched
word by word, ignoring case and punctuation, and only when Twilio's confidence is at least
``min_confidence`` (a result without a confidence counts as certain).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.flow.turn import Turn

__all__ = ["dial_answered", "dial_status_is", "has_recording", "heard", "pressed", "said"]

Condition = Callable[[Turn], bool]
_WORD = re.compile(r"[\w']+")


def _field(turn: Turn, name: str) -> str:
    value = getattr(turn.event, name, "")
    return value if isinstance(value, str) else ""


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def pressed(*keys: str) -> Condition:
    """True when the caller pressed exactly one of ``keys`` (``"1"``, ``"42#"``)."""
    wanted = frozenset(keys)

    def check(turn: Turn) -> bool:
        return _field(turn, "digits") in wanted

    check.__name__ = f"pressed{tuple(sorted(wanted))}"
    return check


def _confident(turn: Turn, min_confidence: float) -> bool:
    confidence = getattr(turn.event, "confidence", None)
    return confidence is None or confidence >= min_confidence


def said(*phrases: str, min_confidence: float = 0.5) -> Condition:
    """True when the speech result contains one of ``phrases`` (whole words)."""
    wanted = [_words(p) for p in phrases]
    if not all(wanted):
        raise ValueError("said() needs phrases with at least one word each")

    def check(turn: Turn) -> bool:
        words = _words(_field(turn, "speech"))
        return _confident(turn, min_confidence) and any(_contains(words, p) for p in wanted)

    check.__name__ = f"said{tuple(phrases)}"
    return check


def heard(
    *phrases: str, digits: str | Iterable[str] = (), min_confidence: float = 0.5
) -> Condition:
    """A menu choice made either way: one of ``phrases`` said, or one of ``digits`` pressed."""
    keys = (digits,) if isinstance(digits, str) else tuple(digits)
    by_voice, by_key = said(*phrases, min_confidence=min_confidence), pressed(*keys)

    def check(turn: Turn) -> bool:
        return by_key(turn) or by_voice(turn)

    check.__name__ = f"heard{tuple(phrases)}|{keys}"
    return check


def dial_status_is(*statuses: str) -> Condition:
    """True when the ``<Dial>`` ended with one of ``statuses`` (``busy``, ``no-answer``...)."""
    wanted = frozenset(statuses)

    def check(turn: Turn) -> bool:
        return _field(turn, "dial_status") in wanted

    check.__name__ = f"dial_status_is{tuple(sorted(wanted))}"
    return check


dial_answered = dial_status_is("completed", "answered")
dial_answered.__name__ = "dial_answered"


def has_recording(turn: Turn) -> bool:
    """True when a ``<Record>`` produced a recording with some sound in it."""
    duration = getattr(turn.event, "recording_duration", None)
    return bool(_field(turn, "recording_url")) and (duration is None or duration > 0)
