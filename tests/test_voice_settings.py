"""Voice settings, the reprompt policy on its own, and callers without a number."""

from __future__ import annotations

import pytest

from bot import Flow, Router, Settings, T, Turn, reprompt, text_is
from bot.errors import ConfigError
from bot.testing import Harness
from flows import build


def test_the_voice_budget_and_hold_prompt_come_from_the_environment() -> None:
    env = {"TWILIO_AUTH_TOKEN": "t", "SWITCHBOARD_VOICE_BUDGET": "1.5",
           "SWITCHBOARD_VOICE_HOLD_PROMPT": "One moment."}  # fmt: skip
    settings = Settings.from_env(env)
    assert settings.voice_budget == 1.5 and settings.voice_hold_prompt == "One moment."
    assert Settings.from_env({"TWILIO_AUTH_TOKEN": "t"}).voice_budget == 3.0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SWITCHBOARD_VOICE_BUDGET": "soon"}, "number of seconds"),
        ({"SWITCHBOARD_VOICE_BUDGET": "14"}, "Twilio hangs up at 15"),
        ({"SWITCHBOARD_VOICE_BUDGET": "0"}, "from 0.01 to 12"),
    ],
)
def test_bad_voice_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"TWILIO_AUTH_TOKEN": "t", **env})


class Quiz(Flow):
    name = "quiz"
    initial = "ask"
    states = ["ask", "right", "gave_up"]
    final_states = ["right", "gave_up"]
    transitions = [
        T("message", "ask", "right", conditions=text_is("paris")),
        *reprompt("ask", times=2, fallback="gave_up", invalid="Not quite."),
    ]

    def on_enter_ask(self, turn: Turn) -> None:
        turn.say("Capital of France?")

    def on_enter_right(self, turn: Turn) -> None:
        turn.say("Yes!")

    def on_enter_gave_up(self, turn: Turn) -> None:
        turn.say("It's Paris.")


async def test_reprompt_works_on_messages_too() -> None:
    async with Harness.of([Quiz], Router(default="quiz")) as harness:
        phone = harness.phone("+15550001111")
        assert (await phone.send("hi")).messages == ["Capital of France?"]
        assert (await phone.send("rome")).messages == ["Not quite.", "Capital of France?"]
        assert (await phone.send("oslo")).messages == ["Not quite.", "Capital of France?"]
        assert (await phone.send("bern")).messages == ["It's Paris."]
        assert (await phone.send("hello")).messages == ["Capital of France?"]
        assert (await phone.send("x")).messages == ["Not quite.", "Capital of France?"]
        assert (await phone.send("Paris")).messages == ["Yes!"]


def test_reprompt_refuses_negative_times() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        reprompt("ask", times=-1, fallback="gave_up")


async def test_a_withheld_caller_id_gets_no_history() -> None:
    async with Harness(build) as harness:
        for _ in range(2):
            call = harness.call("anonymous")
            reply = await call.start()
            said = [e.text for e in reply.root.iter("Say")]
            assert said[0] == "Thanks for calling Acme."
            await call.hangup()
