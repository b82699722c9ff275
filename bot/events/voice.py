"""Voice events: an incoming call, a ``<Gather>`` result, a recording, a dial outcome, a
call/recording/transcription status callback.

A call is one conversation, keyed by its CallSid. Every action URL the framework writes
carries ``step`` (the conversation version that rendered it) and ``on`` (which verb), so a
retried request for the same document is answered once, while two real presses of ``1`` in
one call are two steps. ``hold`` marks the redirect back after a holding prompt.

Triggers (``event.kind``) a voice flow can declare transitions for:

``call``           a new incoming call (runs the initial state's ``on_enter``)
``gather``         digits and/or speech from a ``<Gather>``
``no_input``       a ``<Gather>`` that heard nothing
``recording``      a ``<Record>`` finished (``recording_url``, ``recording_duration``, ``digits``)
``dial``           a ``<Dial>`` ended (``dial_status``: completed, busy, no-answer, ...)
``queue``          an ``<Enqueue>`` ended (``queue_result``: bridged, hangup, leave, ...)
``redirect``       the flow's own ``turn.redirect()`` came back
``recording_status`` / ``transcription``   asynchronous callbacks about a recording
``hangup``         the call ended (terminal ``CallStatus``); the conversation is closed
``call_progress``  a non-terminal call status callback (ringing, in-progress, ...)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import BadRequest
from bot.events.addresses import address
from bot.events.model import Channel, Event, Params
from bot.events.quoting import quoted

__all__ = [
    "ACTION_VIAS",
    "CALL_STATUSES",
    "TERMINAL_CALL_STATUSES",
    "VoiceEvent",
    "parse_voice",
    "parse_voice_status",
]

CALL_STATUSES = frozenset(
    {"queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed",
     "no-answer", "canceled"}
)  # fmt: skip
TERMINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
# The ``on=`` values of the action URLs we write, and the trigger each one becomes.
ACTION_VIAS = frozenset({"call", "gather", "record", "dial", "redirect", "enqueue"})
_STARTS = frozenset({"call", "gather", "no_input", "recording", "dial", "redirect", "queue"})
QUEUE_RESULTS = frozenset({"bridged", "bridging-in-process", "error", "hangup", "leave",
                           "redirected", "redirected-from-bridged", "queue-full",
                           "system-error"})  # fmt: skip
_DTMF = re.compile(r"[0-9*#]{1,64}")
_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")


@dataclass(frozen=True, slots=True)
class VoiceEvent(Event):
    """Anything Twilio tells us about a call. Fields that do not apply are empty."""

    call_sid: str = ""
    trigger: str = "call"
    via: str = "call"
    step: int | None = None
    hold: int = 0
    webhook: str = ""
    call_status: str = ""
    digits: str = ""
    speech: str = ""
    confidence: float | None = None
    dial_status: str = ""
    dial_duration: int | None = None
    queue_result: str = ""
    recording_url: str = ""
    recording_sid: str = ""
    recording_status: str = ""
    recording_duration: int | None = None
    transcription_sid: str = ""
    transcription_status: str = ""
    transcription_text: str = ""
    sequence: int | None = None

    @property
    def kind(self) -> str:
        return self.trigger

    @property
    def sid(self) -> str:
        return self.call_sid

    @property
    def text(self) -> str:
        """What the caller said, pressed, or left as a transcribed message."""
        return self.speech or self.transcription_text or self.digits

    @property
    def is_input(self) -> bool:
        return self.trigger == "gather"

    @property
    def can_start(self) -> bool:
        return self.trigger in _STARTS

    @property
    def ends_conversation(self) -> bool:
        return self.trigger == "hangup"

    @property
    def log_meta(self) -> dict[str, str]:
        """The call's facts for the message log: what was pressed or said and how sure
        Twilio was, how a dial ended, the recording and its transcription, the call status."""
        fields = {
            "digits": self.digits, "speech": self.speech, "dial_status": self.dial_status,
            "queue_result": self.queue_result,
            "recording_url": self.recording_url, "recording_sid": self.recording_sid,
            "recording_status": self.recording_status,
            "transcription_sid": self.transcription_sid,
            "transcription_status": self.transcription_status,
            "transcription_text": self.transcription_text, "call_status": self.call_status,
        }  # fmt: skip
        numbers = {
            "confidence": self.confidence, "dial_duration": self.dial_duration,
            "recording_duration": self.recording_duration, "sequence": self.sequence,
            "step": self.step,
        }  # fmt: skip
        meta = {name: value for name, value in fields.items() if value}
        meta.update({name: str(value) for name, value in numbers.items() if value is not None})
        return meta

    @property
    def dedupe_key(self) -> str | None:
        if self.hold:
            return None
        return self.answers_key

    @property
    def answers_key(self) -> str:
        """The idempotency key of the request this one answers (a hold resumes it)."""
        sid = self.call_sid
        if self.trigger == "recording_status":
            return f"voice:{sid}:rec:{self.recording_sid}:{self.recording_status}"
        if self.trigger == "transcription":
            return f"voice:{sid}:tr:{self.transcription_sid or self.recording_sid}"
        if self.trigger in {"hangup", "call_progress"}:
            seq = self.sequence if self.sequence is not None else self.call_status
            return f"voice:{sid}:status:{seq}"
        if self.step is None:
            return f"voice:{sid}:{self.via}"
        return f"voice:{sid}:{self.step}:{self.via}"


def _required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise BadRequest(f"missing required parameter {name!r}")
    return value


def _int(source: Mapping[str, str], name: str, low: int = 0) -> int | None:
    raw = source.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a whole number, got {quoted(raw)}") from exc
    if value < low:
        raise BadRequest(f"{name} must be at least {low}, got {value}")
    return value


def _call_sid(params: Params) -> str:
    sid = _required(params, "CallSid")
    if not _SID.fullmatch(sid):
        raise BadRequest(f"CallSid {quoted(sid)} is not a Twilio call sid (CA + 32 hex digits)")
    return sid


def _call_status(params: Params, required: bool) -> str:
    status = params.get("CallStatus", "")
    if (status or required) and status not in CALL_STATUSES:
        raise BadRequest(f"CallStatus {quoted(status)} is not one of {sorted(CALL_STATUSES)}")
    return status


def _digits(params: Params, via: str) -> str:
    digits = params.get("Digits", "")
    if not digits or (via == "record" and digits == "hangup"):
        return digits
    if not _DTMF.fullmatch(digits):
        raise BadRequest(f"Digits must be keypad keys (0-9, *, #), got {quoted(digits)}")
    return digits


def _confidence(params: Params) -> float | None:
    raw = params.get("Confidence")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadRequest(f"Confidence must be a number from 0 to 1, got {quoted(raw)}") from exc
    if not 0.0 <= value <= 1.0:
        raise BadRequest(f"Confidence must be from 0 to 1, got {quoted(raw)}")
    return value


def _via(query: Mapping[str, str]) -> tuple[str, int | None, int]:
    via = query.get("on", "call")
    if via not in ACTION_VIAS:
        raise BadRequest(f"unknown voice action on={quoted(via)} (known: {sorted(ACTION_VIAS)})")
    step = _int(query, "step", low=1)
    if via not in {"call", "redirect"} and step is None:
        raise BadRequest(f"a voice action on={via} needs its step in the URL")
    return via, step, _int(query, "hold", low=1) or 0


def _trigger(via: str, params: Params, digits: str, speech: str) -> str:
    if via == "gather":
        return "gather" if digits or speech else "no_input"
    names = {"call": "call", "record": "recording", "dial": "dial", "redirect": "redirect",
             "enqueue": "queue"}  # fmt: skip
    return names[via]


def parse_voice(params: Params, query: Mapping[str, str], webhook: str = "") -> VoiceEvent:
    """The event for a voice request to ``/twilio`` (a call, or one of our action URLs).

    ``query`` is the request's query string (``step``, ``on``, ``hold``); ``webhook`` the
    public URL of the endpoint without it, which the action URLs we write point back to.
    """
    sid = _call_sid(params)
    via, step, hold = _via(query)
    digits, speech = _digits(params, via), params.get("SpeechResult", "").strip()
    dial_status = params.get("DialCallStatus", "")
    if via == "dial" and dial_status not in DIAL_STATUSES:
        known = sorted(DIAL_STATUSES)
        raise BadRequest(f"DialCallStatus {quoted(dial_status)} is not one of {known}")
    queued = params.get("QueueResult", "")
    if via == "enqueue" and queued not in QUEUE_RESULTS:
        raise BadRequest(f"QueueResult {quoted(queued)} is not one of {sorted(QUEUE_RESULTS)}")
    return VoiceEvent(
        channel=Channel.VOICE, from_=_caller(params, "From", True),
        to=_caller(params, "To", True), params=params, call_sid=sid,
        trigger=_trigger(via, params, digits, speech), via=via,
        step=step, hold=hold, webhook=webhook, call_status=_call_status(params, False),
        digits=digits, speech=speech, confidence=_confidence(params), dial_status=dial_status,
        dial_duration=_int(params, "DialCallDuration"), queue_result=queued,
        recording_url=params.get("RecordingUrl", ""),
        recording_duration=_int(params, "RecordingDuration", low=-1),
    )  # fmt: skip


def _caller(params: Params, name: str, required: bool) -> str:
    """``From`` or ``To`` of a call, validated (status callbacks may leave them out)."""
    raw = _required(params, name) if required else params.get(name, "")
    return address(raw, name, voice=True) if raw else ""


def _status_trigger(params: Params) -> str:
    if "TranscriptionStatus" in params:
        return "transcription"
    if "RecordingStatus" in params:
        return "recording_status"
    status = _call_status(params, True)
    return "hangup" if status in TERMINAL_CALL_STATUSES else "call_progress"


def parse_voice_status(params: Params) -> VoiceEvent:
    """The event for a call, recording or transcription status callback.

    Recording callbacks carry no ``From``/``To``: the engine takes them from the stored call.
    """
    trigger = _status_trigger(params)
    if trigger == "recording_status" and not params.get("RecordingSid"):
        raise BadRequest("missing required parameter 'RecordingSid'")
    return VoiceEvent(
        channel=Channel.VOICE, from_=_caller(params, "From", False),
        to=_caller(params, "To", False), params=params, call_sid=_call_sid(params),
        trigger=trigger, via="status",
        call_status=_call_status(params, False), recording_url=params.get("RecordingUrl", ""),
        recording_sid=params.get("RecordingSid", ""),
        recording_status=params.get("RecordingStatus", ""),
        recording_duration=_int(params, "RecordingDuration", low=-1),
        transcription_sid=params.get("TranscriptionSid", ""),
        transcription_status=params.get("TranscriptionStatus", ""),
        transcription_text=params.get("TranscriptionText", ""),
        sequence=_int(params, "SequenceNumber"),
    )  # fmt: skip
