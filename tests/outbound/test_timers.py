"""Durable timers: state timeouts (wait for a reply), turn.schedule, cancellation on leaving."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import Channel, Flow, Message, Router, T, Turn
from bot.errors import FlowDefinitionError
from bot.flow.definition import compile_flow
from bot.flow.intents import Timeout, parse_delay
from bot.testing import Harness
from tests.outbound.conftest import CALLER


def bodies(h: Harness) -> list[str]:
    assert h.twilio is not None
    return [m.body for m in h.twilio.sent(CALLER)]


async def test_no_reply_nudges_then_closes(h: Harness) -> None:
    phone = h.phone(CALLER)
    await phone.send("hi")
    assert (await phone.send("wait")).messages == ["Reply with anything."]
    h.clock.advance(timedelta(hours=2))
    await h.drain()
    assert bodies(h) == ["Still there?"]
    h.clock.advance(timedelta(hours=21, minutes=59))
    await h.drain()
    assert bodies(h) == ["Still there?"]
    h.clock.advance(timedelta(minutes=1))
    await h.drain()
    assert bodies(h) == ["Still there?", "Closing this, bye."]
    stored = await h.store.conversation(f"sms:+15550100000:{CALLER}")
    assert stored is not None and stored.closed and stored.state == "done"


async def test_a_reply_leaves_the_state_and_cancels_its_timers(h: Harness) -> None:
    phone = h.phone(CALLER)
    await phone.send("hi")
    await phone.send("wait")
    h.clock.advance(timedelta(hours=1))
    assert (await phone.send("yes")).messages == ["Hello from us.", "Got 'yes'."]
    h.clock.advance(timedelta(days=2))
    assert await h.drain() == 0
    assert bodies(h) == []

    def count(conn):  # type: ignore[no-untyped-def]
        return conn.execute("SELECT COUNT(*) FROM timers").fetchone()[0]

    assert await h.store._run(count) == 0  # type: ignore[attr-defined]


async def test_a_timer_fires_once_even_when_drained_twice(h: Harness) -> None:
    await h.phone(CALLER).send("hi")
    await h.phone(CALLER).send("later")
    h.clock.advance(timedelta(hours=1))
    await h.drain()
    await h.drain()
    assert bodies(h) == ["beep!"]


async def test_scheduling_the_same_name_again_replaces_the_timer(h: Harness) -> None:
    await h.phone(CALLER).send("hi")
    await h.phone(CALLER).send("later")
    h.clock.advance(timedelta(minutes=20))
    await h.phone(CALLER).send("later")  # again: now due 30 minutes from here
    h.clock.advance(timedelta(minutes=15))
    await h.drain()
    assert bodies(h) == []
    h.clock.advance(timedelta(minutes=15))
    await h.drain()
    assert bodies(h) == ["beep!"]


def test_timeouts_are_validated_when_the_flow_is_registered() -> None:
    class Bad(Flow):
        name = "bad"
        initial = "a"
        states = ["a", "b"]
        transitions = [T("message", "a", "b")]
        timeouts = {"a": [Timeout("1h", "nothing_handles_this")]}

    with pytest.raises(FlowDefinitionError, match="'nothing_handles_this' of state 'a'"):
        compile_flow(Bad)

    class Worse(Flow):
        name = "worse"
        initial = "a"
        states = ["a"]
        transitions = [T("late", "a", None)]
        timeouts = {"a": [Timeout("soon", "late")]}

    with pytest.raises(FlowDefinitionError, match="not a delay"):
        compile_flow(Worse)


def test_delays() -> None:
    assert parse_delay("1d 2h 3m 4s") == timedelta(days=1, hours=2, minutes=3, seconds=4)
    assert parse_delay(90) == timedelta(seconds=90)
    for bad in ("", "2x", "-1h", 0):
        with pytest.raises(ValueError):
            parse_delay(bad)


def test_schedule_validates(h: Harness) -> None:
    turn = Turn.__new__(Turn)
    turn.timers = []
    with pytest.raises(ValueError):
        turn.schedule("not a name", "1h")
    turn.schedule("remind", "1h", name="r1")
    assert turn.timers[0].name == "r1" and turn.timers[0].delay == timedelta(hours=1)


class Forwarder(Flow):
    """A reply to someone else is refused (their window is closed) and fires window_closed."""

    name = "forwarder"
    triggers = ["retry"]
    initial = "idle"
    states = ["idle", "held"]
    transitions = [
        T("message", "idle", None, after="forward"),
        T("window_closed", "idle", "held"),
        T("retry", "held", "idle"),
    ]
    timeouts = {"held": [Timeout("1h", "retry")]}

    def forward(self, turn: Turn) -> None:
        turn.reply(Message("Hello other person", to="whatsapp:+15550009999"))


async def test_a_state_entered_while_screening_replies_arms_its_timeouts() -> None:
    async with Harness.of([Forwarder], Router(default="forwarder")) as h:
        phone = h.phone(CALLER, channel=Channel.WHATSAPP)
        await phone.send("hi")  # enters idle
        await phone.send("pass it on")  # the forward is refused: window_closed -> held
        stored = await h.store.conversation(f"whatsapp:+15550100000:{CALLER}")
        assert stored is not None and stored.state == "held"
        h.clock.advance(timedelta(hours=1))
        assert await h.runtime.timers.drain() == 1
        stored = await h.store.conversation(f"whatsapp:+15550100000:{CALLER}")
        assert stored is not None and stored.state == "idle"
