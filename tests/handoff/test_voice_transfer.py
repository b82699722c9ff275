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
    transitions = [
        T("dial", "menu", "done", after="outcome"),
        T("queue", "menu", "done", after="queued"),
    ]

    def on_enter_menu(self, turn: Turn) -> None:
        to = turn.data.get("client")
        if to:
            turn.handoff("caller asked", client=to, holding="Connecting you to a person.")
        elif turn.data.get("queue"):
            turn.handoff("caller asked", queue="support", holding="Please hold for a person.")
        else:
            turn.handoff("caller asked", number="+15550109999", holding="Connecting you.")

    def outcome(self, turn: Turn) -> None:
        turn.data["outcome"] = turn.voice.dial_status
        if turn.voice.dial_status != "completed":
            turn.say("Nobody could take your call. Goodbye.")
            turn.hangup()

    def queued(self, turn: Turn) -> None:
        turn.data["outcome"] = turn.voice.queue_result
        if turn.voice.queue_result != "bridged":
            turn.say("Nobody is free. Goodbye.")


class QueueDesk(Desk):
    name = "queue_desk"

    def on_enter_menu(self, turn: Turn) -> None:
        turn.data["queue"] = True
        super().on_enter_menu(turn)


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


async def test_transfer_into_a_queue_and_its_outcome() -> None:
    async with Harness.of([QueueDesk], Router(default="queue_desk")) as harness:
        call = harness.call(CALLER, OURS)
        answer = await call.start()
        assert "<Say>Please hold for a person.</Say>" in answer.body
        assert ">support</Enqueue>" in answer.body
        ended = await call.queue_ends("hangup", 40)
        assert "Nobody is free" in ended.body
        found = await harness.store.conversation(f"voice:{call.sid}")
        assert found is not None and found.data["outcome"] == "hangup"
        assert found.data["handoff"] == {"reason": "caller asked", "to": "queue:support"}


def test_a_call_needs_a_number_or_a_client() -> None:
    from bot.events.keys import ConversationKey
    from bot.events.model import Channel, Params
    from bot.events.voice import VoiceEvent
    from bot.testing import FakeClock

    event = VoiceEvent(Channel.VOICE, CALLER, OURS, Params())
    key = ConversationKey(Channel.VOICE, OURS, CALLER, thread="CA" + "1" * 32)
    turn = Turn(event, key, "desk", "menu", {}, FakeClock())
    with pytest.raises(ValueError, match="number=, client= or queue="):
        turn.handoff("x")


async def test_an_unknown_queue_result_is_a_clear_400() -> None:
    async with Harness.of([QueueDesk], Router(default="queue_desk")) as harness:
        params = [("AccountSid", "AC" + "0" * 32), ("From", CALLER), ("To", OURS),
                  ("CallStatus", "in-progress"), ("CallSid", "CA" + "b" * 32),
                  ("QueueResult", "exploded")]  # fmt: skip
        reply = await harness.post("/twilio?step=2&on=enqueue", params)
        assert reply.status == 400 and "QueueResult" in reply.body
