"""Voice verbs: reply actions that render to TwiML voice elements.

Each verb is a frozen dataclass with ``node()`` (the TwiML element) and ``summary()`` (what the
message log records), like :class:`bot.actions.Message`. Attribute names follow Twilio's
camelCase; ``None`` leaves an attribute out so Twilio's default applies. The bytes are the
ones ``twilio.twiml.voice_response`` writes (pinned by ``tests/test_voice_twiml.py``).

Action URLs are absolute and built by :mod:`bot.voice.urls`; verbs only carry them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.twiml.render import Node
from bot.twiml.rules import TwimlError, check_language, check_voice

__all__ = [
    "DIAL_OUTCOMES",
    "GATHER_INPUTS",
    "Dial",
    "Gather",
    "Hangup",
    "Pause",
    "Play",
    "Prompt",
    "Record",
    "Redirect",
    "Reject",
    "Say",
    "prompts_of",
]

# Twilio documents these three; "speech dtmf" is not one of them.
GATHER_INPUTS = frozenset({"dtmf", "speech", "dtmf speech"})
DIAL_OUTCOMES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
_FINISH_KEYS = frozenset("0123456789*#") | {""}


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise TwimlError(f"{name} must be a positive whole number, got {value!r}")


@dataclass(frozen=True, slots=True)
class Say:
    """``<Say>``: text read aloud (``loop=0`` repeats until the call moves on)."""

    text: str
    voice: str | None = None
    language: str | None = None
    loop: int | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise TwimlError("Say needs some text to say")
        if len(self.text) > 4096:
            raise TwimlError("Say text is limited to 4096 characters")
        if self.loop is not None and self.loop < 0:
            raise TwimlError("Say loop must be 0 (forever) or more")
        check_voice(self.voice)
        check_language("Say", self.language)

    def summary(self) -> str:
        return self.text

    def node(self) -> Node:
        attrs = {"voice": self.voice, "language": self.language, "loop": self.loop}
        return Node("Say", attrs, self.text)


@dataclass(frozen=True, slots=True)
class Play:
    """``<Play>``: an audio file played to the caller."""

    url: str
    loop: int | None = None

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise TwimlError(f"Play needs an http(s) URL, got {self.url!r}")

    def summary(self) -> str:
        return self.url

    def node(self) -> Node:
        return Node("Play", {"loop": self.loop}, self.url)


@dataclass(frozen=True, slots=True)
class Pause:
    """``<Pause>``: silence for ``length`` seconds."""

    length: int = 1

    def __post_init__(self) -> None:
        _positive("Pause length", self.length)

    def summary(self) -> str:
        return f"{self.length}s"

    def node(self) -> Node:
        return Node("Pause", {"length": self.length})


Prompt = Say | Play | Pause


@dataclass(frozen=True, slots=True)
class Gather:
    """``<Gather>``: prompts, then wait for keys and/or speech, then POST ``action``.

    ``actionOnEmptyResult`` is always on, so silence comes back as a request too (the
    ``no_input`` event) instead of falling through to dead air.
    """

    action: str
    prompts: tuple[Prompt, ...] = ()
    input: str = "dtmf"
    num_digits: int | None = None
    finish_on_key: str | None = None
    timeout: int | None = None
    speech_timeout: str | int | None = None
    hints: tuple[str, ...] = ()
    language: str | None = None

    def __post_init__(self) -> None:
        if self.input not in GATHER_INPUTS:
            raise TwimlError(
                f"Gather input must be dtmf, speech or 'dtmf speech', not {self.input!r}"
            )
        if self.finish_on_key is not None and self.finish_on_key not in _FINISH_KEYS:
            raise TwimlError(
                f"finishOnKey must be one of 0-9, * or #, or '', not {self.finish_on_key!r}"
            )
        _positive("numDigits", self.num_digits)
        _positive("timeout", self.timeout)
        if isinstance(self.speech_timeout, int):
            _positive("speechTimeout", self.speech_timeout)
        elif self.speech_timeout not in (None, "auto"):
            raise TwimlError("speechTimeout is a positive whole number or 'auto'")
        if len(self.hints) > 500 or any(len(h) > 100 for h in self.hints):
            raise TwimlError("at most 500 hints of at most 100 characters each")
        check_language("Gather", self.language)

    @property
    def wants_speech(self) -> bool:
        return "speech" in self.input

    def summary(self) -> str:
        """The prompts, one per line, as transcripts read them (``say: Press 1``)."""
        return "\n".join(f"{p.node().tag.lower()}: {p.summary()}" for p in self.prompts)

    def node(self) -> Node:
        attrs: dict[str, str | int | bool | None] = {
            "action": self.action,
            "actionOnEmptyResult": True,
            "input": self.input,
            "numDigits": self.num_digits,
            "finishOnKey": self.finish_on_key,
            "timeout": self.timeout,
            "speechTimeout": self.speech_timeout,
            "hints": ", ".join(self.hints) if self.hints else None,
            "language": self.language,
            "method": "POST",
        }
        return Node("Gather", attrs, children=tuple(p.node() for p in self.prompts))


@dataclass(frozen=True, slots=True)
class Record:
    """``<Record>``: a voicemail; its action request, status and transcription come back."""

    action: str
    status_callback: str
    max_length: int | None = None
    finish_on_key: str | None = None
    play_beep: bool | None = None
    timeout: int | None = None
    transcribe: bool = False

    def __post_init__(self) -> None:
        _positive("maxLength", self.max_length)
        _positive("timeout", self.timeout)
        if self.finish_on_key is not None and any(
            k not in _FINISH_KEYS for k in self.finish_on_key
        ):
            raise TwimlError(f"finishOnKey takes keys 0-9, * and #, not {self.finish_on_key!r}")

    def summary(self) -> str:
        return "record" + (" + transcribe" if self.transcribe else "")

    def node(self) -> Node:
        attrs: dict[str, str | int | bool | None] = {
            "action": self.action,
            "method": "POST",
            "maxLength": self.max_length,
            "finishOnKey": self.finish_on_key,
            "playBeep": self.play_beep,
            "timeout": self.timeout,
            "recordingStatusCallback": self.status_callback,
            "recordingStatusCallbackMethod": "POST",
            "transcribe": True if self.transcribe else None,
            "transcribeCallback": self.status_callback if self.transcribe else None,
        }
        return Node("Record", attrs)


@dataclass(frozen=True, slots=True)
class Dial:
    """``<Dial>``: connect the caller to ``number``; the outcome comes back to ``action``."""

    number: str
    action: str
    caller_id: str | None = None
    timeout: int | None = None
    time_limit: int | None = None

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise TwimlError("Dial needs a number (E.164, like +14155550100)")
        _positive("Dial timeout", self.timeout)
        _positive("Dial timeLimit", self.time_limit)

    def summary(self) -> str:
        return self.number

    def node(self) -> Node:
        attrs = {
            "action": self.action,
            "method": "POST",
            "callerId": self.caller_id,
            "timeout": self.timeout,
            "timeLimit": self.time_limit,
        }
        return Node("Dial", attrs, self.number)


@dataclass(frozen=True, slots=True)
class Redirect:
    """``<Redirect>``: fetch TwiML from ``url`` next (verbs after it are never reached)."""

    url: str

    def summary(self) -> str:
        return self.url

    def node(self) -> Node:
        return Node("Redirect", {"method": "POST"}, self.url)


@dataclass(frozen=True, slots=True)
class Hangup:
    """``<Hangup/>``: end the call."""

    def summary(self) -> str:
        return "hangup"

    def node(self) -> Node:
        return Node("Hangup")


@dataclass(frozen=True, slots=True)
class Reject:
    """``<Reject>``: refuse the call unanswered (only as the first verb); busy or rejected."""

    reason: str = "rejected"

    def __post_init__(self) -> None:
        if self.reason not in {"rejected", "busy"}:
            raise TwimlError(f"Reject reason is 'rejected' or 'busy', not {self.reason!r}")

    def summary(self) -> str:
        return self.reason

    def node(self) -> Node:
        return Node("Reject", {"reason": self.reason})


def prompts_of(items: Sequence[str | Prompt]) -> tuple[Prompt, ...]:
    """Plain strings become ``<Say>``; Say, Play and Pause stay as they are."""
    return tuple(Say(item) if isinstance(item, str) else item for item in items)
