"""Conditions for voice transitions: ``T("gather", "menu", "sales", conditions=pressed("1"))``.

Like :mod:`bot.conditions`, each returns a plain callable taking the turn. Speech is matched
word by word, ignoring case and punctuation, and only when Twilio's confidence is at least
``min_confidence`` (a result without a confidence counts as certain).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.events.voice import VoiceEvent
from bot.flow.turn import Turn

__all__ = ["dial_answered", "dial_status_is", "has_recording", "heard", "pressed", "said"]

Condition = Callable[[Turn], bool]
_WORD = re.compile(r"[\w']+")


def _call(turn: Turn) -> VoiceEvent | None:
    """The turn's call event, or None (a condition is False on any other turn)."""
    return turn.event if isinstance(turn.event, VoiceEvent) else None


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def pressed(*keys: str) -> Condition:
    """True when the caller pressed exactly one of ``keys`` (``"1"``, ``"42#"``)."""
    wanted = frozenset(keys)

    def check(turn: Turn) -> bool:
        call = _call(turn)
        return call is not None and call.digits in wanted

    check.__name__ = "pressed " + " or ".join(sorted(wanted))
    return check


def _confident(call: VoiceEvent, min_confidence: float) -> bool:
    return call.confidence is None or call.confidence >= min_confidence


def said(*phrases: str, min_confidence: float = 0.5) -> Condition:
    """True when the speech result contains one of ``phrases`` (whole words)."""
    wanted = [_words(p) for p in phrases]
    if not all(wanted):
        raise ValueError("said() needs phrases with at least one word each")

    def check(turn: Turn) -> bool:
        call = _call(turn)
        if call is None or not _confident(call, min_confidence):
            return False
        words = _words(call.speech)
        return any(_contains(words, p) for p in wanted)

    check.__name__ = "said " + " or ".join(repr(p) for p in phrases)
    return check


def heard(
    *phrases: str, digits: str | Iterable[str] = (), min_confidence: float = 0.5
) -> Condition:
    """A menu choice made either way: one of ``phrases`` said, or one of ``digits`` pressed."""
    keys = (digits,) if isinstance(digits, str) else tuple(digits)
    by_voice, by_key = said(*phrases, min_confidence=min_confidence), pressed(*keys)

    def check(turn: Turn) -> bool:
        return by_key(turn) or by_voice(turn)

    check.__name__ = " or ".join(
        [repr(p) for p in phrases] + ([f"pressed {'/'.join(keys)}"] if keys else [])
    )
    return check


def dial_status_is(*statuses: str) -> Condition:
    """True when the ``<Dial>`` ended with one of ``statuses`` (``busy``, ``no-answer``...)."""
    wanted = frozenset(statuses)

    def check(turn: Turn) -> bool:
        call = _call(turn)
        return call is not None and call.dial_status in wanted

    check.__name__ = "dial " + " or ".join(sorted(wanted))
    return check


dial_answered = dial_status_is("completed", "answered")
dial_answered.__name__ = "dial answered"


def has_recording(turn: Turn) -> bool:
    """True when a ``<Record>`` produced a recording with some sound in it."""
    call = _call(turn)
    if call is None or not call.recording_url:
        return False
    return call.recording_duration is None or call.recording_duration > 0
