"""Nothing is ignored silently: input no transition takes is logged with the conversation,
state and text, and a flow can declare what to answer (issue 11)."""

from __future__ import annotations

import logging

import pytest

from bot import Flow, Router, T, Turn, text_is
from bot.testing import Harness


class Strict(Flow):
    name = "strict"
    initial = "asking"
    states = ["asking", "done"]
    transitions = [T("message", "asking", "done", conditions=text_is("yes"))]

    def on_enter_asking(self, turn: Turn) -> None:
        turn.say("Say yes.")


class Polite(Strict):
    name = "polite"
    unhandled_reply = "Sorry, I only understand yes."


async def test_unhandled_input_is_logged_with_key_state_and_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Harness.of([Strict], Router(default="strict")) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        with caplog.at_level(logging.WARNING, logger="switchboard.engine"):
            reply = await phone.send("maybe")
    assert reply.status == 200 and reply.messages == []
    [record] = [r for r in caplog.records if "unhandled" in r.getMessage()]
    text = record.getMessage()
    assert "sms:+15550100000:+15550001111" in text and "'asking'" in text and "'maybe'" in text
    assert "set unhandled_reply" in text


async def test_a_flow_declares_what_unhandled_input_is_answered_with() -> None:
    async with Harness.of([Polite], Router(default="polite")) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        reply = await phone.send("maybe")
        assert reply.messages == ["Sorry, I only understand yes."]
        assert (await phone.send("yes")).status == 200
        stored = await h.store.conversation("sms:+15550100000:+15550001111")
        assert stored is not None and stored.state == "done"
