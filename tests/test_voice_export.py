"""A stored call exported as a transcript replays against the app it came from."""

from __future__ import annotations

from bot.export.transcript import to_transcript
from bot.testing import Harness
from bot.testing.runner import Runner
from bot.testing.transcript import parse
from flows import build


async def _export(harness: Harness, sid: str) -> str:
    key = f"voice:{sid}"
    conversation = await harness.store.conversation(key)
    assert conversation is not None
    return to_transcript(conversation, await harness.store.log(key))


async def test_a_voicemail_call_round_trips() -> None:
    async with Harness(build) as harness:
        call = harness.call("+15550004444")
        await call.start()
        await call.press("7")
        await call.press("1")
        await call.dial_ends("no-answer")
        await call.record(12)
        await call.hangup()
        await call.recording_status()
        await call.transcription('She said "call me" twice.')
        text = await _export(harness, call.sid)
    assert "> [digits 7]\n< say: Sorry, that's not one of the options." in text
    assert "> [record 12 #]" in text and "> [status completed 0]" in text
    assert '> [transcription "She said \\"call me\\" twice."]' in text
    await Runner(parse(text, "exported"), build).run()


async def test_a_speech_call_round_trips() -> None:
    async with Harness(build) as harness:
        call = harness.call("+15550004444", "+15550100200")
        await call.start()
        await call.silence()
        await call.speak("operator", 0.42)
        await call.speak("an agent please", 0.93)
        await call.dial_ends("busy")
        text = await _export(harness, call.sid)
    assert "> [silence]" in text and '> [speech "operator" 0.42]' in text
    assert "< dial: +15550103000" in text
    await Runner(parse(text, "exported"), build).run()
