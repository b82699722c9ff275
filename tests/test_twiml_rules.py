"""Issue 17: TwiML Twilio would reject is refused when built, naming the flow and state."""

from __future__ import annotations

import logging

import pytest

from bot import Flow, Router, T, Turn, UnlistedVoice
from bot.testing import Harness
from bot.twiml.messaging import Message
from bot.twiml.rules import TwimlError, check_answer, check_language, check_voice
from bot.twiml.voice import Gather, Hangup, Say


@pytest.mark.parametrize("value", ["speech dtmf", "DTMF", "dtmf,speech", "voice", ""])
def test_gather_input_is_one_of_twilios_three(value: str) -> None:
    with pytest.raises(TwimlError, match="Gather input"):
        Gather("https://h/x", input=value)
    for ok in ("dtmf", "speech", "dtmf speech"):
        assert Gather("https://h/x", input=ok).input == ok


@pytest.mark.parametrize("language", ["english", "en_US", "e", "en-USA-", "en US", "12-34"])
def test_languages_must_be_bcp47(language: str) -> None:
    with pytest.raises(TwimlError, match="BCP-47"):
        Gather("https://h/x", input="speech", language=language)
    with pytest.raises(TwimlError, match="BCP-47"):
        Say("hi", language=language)


@pytest.mark.parametrize("language", ["en-US", "en-GB", "cmn-Hans-CN", "yue-Hant-HK", "es-419"])
def test_real_languages_pass(language: str) -> None:
    check_language("Say", language)


@pytest.mark.parametrize("voice", ["Polly.Nobody", "polly.Joanna", "Robot", "Google.en-GB-X-A"])
def test_unknown_voices_are_refused(voice: str) -> None:
    with pytest.raises(TwimlError, match="voice"):
        Say("hi", voice=voice)


@pytest.mark.parametrize(
    "voice", ["man", "woman", "alice", "Polly.Joanna", "Polly.Amy-Neural",
              "Google.en-GB-Standard-A", "Google.en-US-Chirp3-HD-Aoede"],
)  # fmt: skip
def test_known_voices_pass(voice: str) -> None:
    check_voice(voice)


def test_a_new_voice_passes_when_named_explicitly() -> None:
    assert Say("hi", voice=UnlistedVoice("Polly.Newcomer")).voice == "Polly.Newcomer"


@pytest.mark.parametrize("bad", [dict(num_digits=0), dict(timeout=0), dict(speech_timeout=0),
                                 dict(speech_timeout="soon"), dict(finish_on_key="x")])  # fmt: skip
def test_gather_numbers_and_keys_in_range(bad: dict[str, object]) -> None:
    with pytest.raises(TwimlError):
        Gather("https://h/x", **bad)  # type: ignore[arg-type]


def test_verbs_only_on_their_channel() -> None:
    with pytest.raises(TwimlError, match="<Message> cannot be part of a call's answer"):
        check_answer([Say("hi").node(), Message("hi").node()], voice=True)
    with pytest.raises(TwimlError, match="<Say> cannot be part of a message's answer"):
        check_answer([Message("hi").node(), Say("hi").node()], voice=False)
    check_answer([Say("hi").node(), Hangup().node()], voice=True)
    check_answer([Message("hi").node()], voice=False)


class WrongVerbs(Flow):
    """Answers a text with <Say>, and a call with <Message>."""

    name = "wrong"
    states = ["start"]
    initial = "start"
    transitions = [T("message", "start", "start", after="reply"),
                   T("call", "start", "start", after="reply")]  # fmt: skip

    async def on_enter_start(self, turn: Turn) -> None:
        await self.reply(turn)

    async def reply(self, turn: Turn) -> None:
        turn.reply(Say("hello") if turn.channel.value != "voice" else Message("hello"))


async def test_a_say_in_a_message_answer_fails_the_step_naming_flow_and_state(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Harness.of([WrongVerbs], Router(default="wrong")) as h:
        with caplog.at_level(logging.ERROR, "switchboard.engine"):
            reply = await h.phone("+15550001111").send("hi")
        assert reply.status == 200 and "<Say" not in reply.body and "<Message>" in reply.body
        assert "'wrong'" in caplog.text and "'start'" in caplog.text
        assert "<Say> cannot be part of a message's answer" in caplog.text


async def test_a_message_in_a_call_answer_fails_the_step(caplog: pytest.LogCaptureFixture) -> None:
    async with Harness.of([WrongVerbs], Router(default="wrong")) as h:
        with caplog.at_level(logging.ERROR, "switchboard.engine"):
            reply = await h.call("+15550001111").start()
        assert "<Message" not in reply.body and "<Hangup" in reply.body
        assert "<Message> cannot be part of a call's answer" in caplog.text
