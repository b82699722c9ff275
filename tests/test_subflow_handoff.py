"""Issue 15 with issue 13: an operator takes over a conversation while its subflow runs, on
SQLite and PostgreSQL.

While the child runs, the hand-off holds it like any conversation (messages stored, the
flow not run, the caller still waiting); given back, the child continues in its state with
its timeouts armed afresh and returns to its caller as usual; given back in one of the
child's final states, it returns to the caller at once.
"""

from __future__ import annotations

from datetime import timedelta

from bot import Flow, Router, T, Timeout, Turn, text_is
from bot.flow.handoff import current
from bot.testing import Harness
from bot.testing.handoff import Operator
from storage.records import Conversation

KEY = "sms:+15550100000:+15550001111"
ME = "+15550001111"


class Pin(Flow):
    name = "pin"
    states = ["ask", "ok", "wrong", "timed_out"]
    initial = "ask"
    final_states = ["ok", "wrong", "timed_out"]
    outcomes = {"wrong": "failed", "timed_out": "expired"}
    timeouts = {"ask": [Timeout("1h", "silence")]}
    transitions = [
        T("message", "ask", "ok", conditions=text_is("1234"), after="keep"),
        T("message", "ask", "wrong"),
        T("silence", "ask", "timed_out"),
    ]

    def on_enter_ask(self, turn: Turn) -> None:
        turn.say(f"The code for {turn.data.get('who')}?")

    def keep(self, turn: Turn) -> None:
        turn.data["result"] = "by code"


class Desk(Flow):
    name = "desk"
    states = ["start", "calling", "in", "out", "late"]
    initial = "start"
    final_states = ["in", "out", "late"]
    subflows = {"calling": Pin}
    transitions = [
        T("message", "start", "calling", after="call"),
        T("completed", "calling", "in", after="report"),
        T("failed", "calling", "out", after="report"),
        T("expired", "calling", "late", after="report"),
    ]

    def on_enter_start(self, turn: Turn) -> None:
        turn.data["mine"] = "kept"
        turn.say("Hi.")

    def call(self, turn: Turn) -> None:
        turn.call(Pin, who="Ada")

    def report(self, turn: Turn) -> None:
        outcome, value = (
            (turn.result.outcome.value, turn.result.value) if turn.result else ("", None)
        )
        turn.say(f"Desk: {outcome} {value} ({turn.data['mine']})")


def harness(url: str) -> Harness:
    return Harness.of([Desk], Router(default="desk"), database_url=url)


async def _stored(h: Harness) -> Conversation:
    found = await h.store.conversation(KEY)
    assert found is not None
    return found


def _sent(h: Harness) -> list[str]:
    return [m.body for m in h.twilio.messages.values()] if h.twilio else []


async def _taken_over(h: Harness) -> Operator:
    phone = h.phone(ME)
    await phone.send("hi")
    assert (await phone.send("go")).messages == ["The code for Ada?"]
    alice = Operator(h, "alice")
    await alice.act(KEY, "take_over", "caller asked for a person")
    return alice


async def test_taken_over_in_the_child_given_back_the_child_continues_and_returns(
    url: str,
) -> None:
    async with harness(url) as h:
        alice = await _taken_over(h)
        held = await _stored(h)
        assert (held.flow, held.state, [f["flow"] for f in held.stack]) == ("pin", "ask", ["desk"])
        record = current(held.data)
        assert record is not None and record.resume == "ask"  # a state of the child
        assert (await h.phone(ME).send("1234")).messages == []  # held: the child does not run
        assert (await _stored(h)).state == "ask"
        await alice.act(KEY, "say", "Hello, I'm Alice")
        h.clock.advance(2 * 3600)  # the child's 1-hour timeout comes due: held, dropped
        await h.drain()
        assert (await _stored(h)).state == "ask"
        await alice.act(KEY, "return")
        await h.drain()
        back = await _stored(h)
        assert (back.flow, back.state, back.closed, current(back.data)) == (
            "pin",
            "ask",
            False,
            None,
        )
        assert _sent(h)[-1] == "The code for Ada?"  # on_enter_ask ran again
        timers = {t.name: t for t in await h.store.timers(KEY)}
        assert timers["ask.silence"].due_at == h.clock.now() + timedelta(hours=1)
        assert set(timers) == {"ask.silence"}  # armed afresh on the return
        reply = await h.phone(ME).send("1234")
        assert reply.messages == ["Desk: completed by code (kept)"]
        done = await _stored(h)
        assert (done.flow, done.state, done.stack, done.closed) == ("desk", "in", (), True)


async def test_the_childs_timeout_still_expires_it_after_a_hand_back(url: str) -> None:
    async with harness(url) as h:
        alice = await _taken_over(h)
        h.clock.advance(2 * 3600)
        await h.drain()
        await alice.act(KEY, "return")
        h.clock.advance(3601)
        await h.drain()
        assert "Desk: expired None (kept)" in _sent(h)
        after = await _stored(h)
        assert (after.flow, after.state, after.stack) == ("desk", "late", ())


async def test_given_back_in_a_final_state_of_the_child_returns_to_the_caller(url: str) -> None:
    async with harness(url) as h:
        alice = await _taken_over(h)
        await alice.act(KEY, "return", "wrong")  # the operator decides: not verified
        await h.drain()
        after = await _stored(h)
        assert (after.flow, after.state, after.stack, after.closed) == ("desk", "out", (), True)
        assert "Desk: failed None (kept)" in _sent(h)
        assert await h.store.timers(KEY) == []
        kinds = [e.kind for e in await h.store.log(KEY)]
        assert kinds[-2:] == ["returned", "returned"]  # the hand-off's, then the subflow's
