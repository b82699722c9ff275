"""Call, recording and transcription status callbacks on ``POST /twilio/status``.

Each becomes a :class:`~bot.events.voice.VoiceEvent` run through the engine like any other:
it lands in the call's message log (linked by CallSid), can trigger the flow, is deduplicated
(``SequenceNumber`` for call progress, RecordingSid + status, TranscriptionSid), and a
terminal call status closes the conversation whatever state it was in. A callback for a
call we never saw changes nothing; the answer is ``204`` either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.engine.engine import Engine
from bot.events.model import Params
from bot.events.voice import parse_voice_status

__all__ = ["CallCallbacks"]


@dataclass(frozen=True)
class CallCallbacks:
    """Runs voice status callbacks through the engine (their TwiML answer is not used)."""

    engine: Engine

    async def __call__(self, params: Params, query: Mapping[str, str]) -> None:
        await self.engine.handle(parse_voice_status(params))
