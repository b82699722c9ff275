"""Call, recording and transcription status callbacks on ``POST /twilio/status``.

Each becomes a :class:`~bot.voice.events.VoiceEvent` run through the engine like any other:
it lands in the call's message log (linked by CallSid), can trigger the flow, is deduplicated
(``SequenceNumber`` for call progress, RecordingSid + status, TranscriptionSid), and a
terminal call status closes the conversation whatever state it was in. A callback for a
call we never saw changes nothing; the answer is ``204`` either way.

Registered in this order because a transcription callback also carries ``CallStatus``.
"""

from __future__ import annotations

from bot.engine.engine import Engine
from bot.events.model import Params
from bot.events.voice import parse_voice_status
from bot.web.status import status_handler

__all__ = ["call_status"]


async def call_status(engine: Engine, params: Params) -> None:
    """Run one voice status callback through the engine (its TwiML answer is not used)."""
    await engine.handle(parse_voice_status(params))


status_handler("TranscriptionStatus")(call_status)
status_handler("RecordingStatus")(call_status)
status_handler("CallStatus")(call_status)
