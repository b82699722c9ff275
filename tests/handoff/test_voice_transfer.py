"""A call's hand-off is a transfer: <Dial> to a number or a Voice SDK client, with the dial's
outcome back in the flow (the ``dial`` event)."""

from __future__ import annotations

import pytest

from bot import Flow, Router, T, Turn
from bot.testing import Harness

CALLER, OURS = "+15550001111", "+15550100000"


class Desk(Flow):
    name = "desk"
    initial = "menu"
    states = ["menu", "done"]
    final = ["done"]
    transitions = [T("dial", "menu", "done", after="outcome")]

    def on_enter_menu(self, turn: Turn) -> None:
        to = turn.data.get("client")
        if to:
            turn.handoff("caller asked", client=to, holding="Connecting you to a person.")
        else:
            turn.handoff("caller asked", number="+15550109999", holding="Connecting you.")

    def outcome(self, turn: Turn) -> None:
        turn.data["outcome"] = turn.voice.dial_status
        if turn.voice.dial_status != "completed":
            turn.say("Nobody could take your call. Goodbye.")
            turn.hangup()


class ClientDesk(Desk):
    name = "client_desk"

    def on_enter_menu(self, turn: Turn) -> None:
        turn.data["client"] = "alice"
        super().on_enter_menu(turn)


async def test_transfer_to_a_number_and_its_outcome_back_in_the_flow() -> None:
    async with Harness.of([Desk], Router(default="desk")) as harness:
        call = harness.call(CALLER, OURS)
        answer = await call.start()
        assert "<Say>Connecting you.</Say>" in answer.body
        assert "+15550109999</Dial>" in answer.body and 'action="' in answer.body
        ended = await call.dial_ends("no-answer")
        assert "Nobody could take your call" in ended.body
        found = await harness.store.conversation(f"voice:{call.sid}")
        assert found is not None and found.state == "done"
        assert found.data["handoff"] == {"reason": "caller asked", "to": "+15550109999"}
        assert found.data["outcome"] == "no-answer"


async def test_transfer_to_a_client() -> None:
    async with Harness.of([ClientDesk], Router(default="client_desk")) as harness:
        answer = await harness.call(CALLER, OURS).start()
        assert "<Client>alice</Client></Dial>" in answer.body


def test_a_call_needs_a_number_or_a_client() -> None:
    from bot.events.keys import ConversationKey
    from bot.events.model import Channel, Params
    from bot.events.voice import VoiceEvent
    from bot.testing import FakeClock

    event = VoiceEvent(Channel.VOICE, CALLER, OURS, Params())
    key = ConversationKey(Channel.VOICE, OURS, CALLER, thread="CA" + "1" * 32)
    turn = Turn(event, key, "desk", "menu", {}, FakeClock())
    with pytest.raises(ValueError, match="number= or client="):
        turn.handoff("x")
