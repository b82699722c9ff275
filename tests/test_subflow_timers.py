"""Issue 15: a caller's timers while its subflow runs, on SQLite and PostgreSQL.

The caller's kept timers are paused with its frame (out of the timers table, the time they
had left in the frame) and set again when the child returns, with that time left; the
child's timers (its timeouts and those it scheduled) are cancelled when it returns,
completed, failed or expired. A state that calls a subflow cannot declare timeouts.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import Flow, Router, T, Timeout, Turn, text_is
from bot.errors import FlowDefinitionError
from bot.flow.definition import compile_flow
from bot.testing import Harness
from storage.records import Timer

KEY = "sms:+15550100000:+15550001111"
ME = "+15550001111"


class Asker(Flow):
    """Waits for the code for 5 hours; schedules a kept ping of its own."""

    name = "asker"
    states = ["ask", "ok", "wrong", "timed_out"]
    initial = "ask"
    final_states = ["ok", "wrong", "timed_out"]
    triggers = ["message", "ping"]
    outcomes = {"wrong": "failed", "timed_out": "expired"}
    timeouts = {"ask": [Timeout("5h", "silence")]}
    transitions = [
        T("message", "ask", "ok", conditions=text_is("1234")),
        T("message", "ask", "wrong"),
        T("silence", "ask", "timed_out"),
        T("ping", "ask", None),
    ]

    def on_enter_ask(self, turn: Turn) -> None:
        turn.schedule("ping", "4h", keep=True)
        turn.say("The code?")


class Waiter(Flow):
    """Sets a kept 2-hour nudge, then calls ``Asker``; goes on after it, nudgeable."""

    name = "waiter"
    states = ["start", "calling", "after"]
    initial = "start"
    subflows = {"calling": Asker}
    triggers = ["message", "nudge"]
    transitions = [
        T("message", "start", "calling"),
        *[
            T(exit, "calling", "after", after="report")
            for exit in ("completed", "failed", "expired")
        ],
        T("nudge", ["start", "after"], None, after="nudged"),
        T("message", "after", None),
    ]

    def on_enter_start(self, turn: Turn) -> None:
        turn.schedule("nudge", "2h", keep=True)
        turn.say("Hello.")

    def report(self, turn: Turn) -> None:
        turn.say(f"Back: {turn.result.outcome.value if turn.result else None}.")

    def nudged(self, turn: Turn) -> None:
        turn.send("Nudge!")


def harness(url: str) -> Harness:
    return Harness.of([Waiter], Router(default="waiter"), database_url=url)


async def _timers(h: Harness) -> dict[str, Timer]:
    return {t.name: t for t in await h.store.timers(KEY)}


def _sent(h: Harness) -> list[str]:
    return [m.body for m in h.twilio.messages.values()] if h.twilio else []


async def test_the_callers_timer_pauses_and_resumes_with_the_time_it_had_left(url: str) -> None:
    async with harness(url) as h:
        phone = h.phone(ME)
        start = h.clock.now()
        await phone.send("hi")
        assert (await _timers(h))["nudge"].due_at == start + timedelta(hours=2)
        h.clock.advance(30 * 60)
        assert (await phone.send("go")).messages == ["The code?"]
        called = h.clock.now()
        timers = await _timers(h)
        assert set(timers) == {"ask.silence", "ping"}  # the caller's nudge is paused
        assert {t.flow for t in timers.values()} == {"asker"}
        stored = await h.store.conversation(KEY)
        assert stored is not None
        assert stored.stack[0]["timers"] == [
            {"name": "nudge", "trigger": "nudge", "left": 90 * 60.0, "payload": {}}
        ]
        h.clock.advance(3 * 3600)  # past the nudge's first due time: it does not fire
        await h.drain()
        assert "Nudge!" not in _sent(h)
        assert (await phone.send("1234")).messages == ["Back: completed."]
        back = h.clock.now()
        timers = await _timers(h)
        assert set(timers) == {"nudge"}  # the child's timeout and ping are gone
        assert timers["nudge"].due_at == back + timedelta(minutes=90)
        assert (timers["nudge"].flow, timers["nudge"].state) == ("waiter", None)
        assert back - called == timedelta(hours=3)
        h.clock.advance(89 * 60)
        await h.drain()
        assert "Nudge!" not in _sent(h)
        h.clock.advance(61)
        await h.drain()
        assert _sent(h).count("Nudge!") == 1


@pytest.mark.parametrize(("answer", "outcome"), [("nope", "failed"), (None, "expired")])
async def test_a_failed_or_expired_child_leaves_no_timer_behind(
    url: str, answer: str | None, outcome: str
) -> None:
    async with harness(url) as h:
        phone = h.phone(ME)
        await phone.send("hi")
        await phone.send("go")
        if answer is not None:
            assert (await phone.send(answer)).messages == [f"Back: {outcome}."]
        else:
            h.clock.advance(5 * 3600 + 1)  # the child's own timeout: its expired exit
            await h.drain()
            assert f"Back: {outcome}." in _sent(h)
        stored = await h.store.conversation(KEY)
        assert stored is not None and (stored.flow, stored.state, stored.stack) == (
            "waiter", "after", ()
        )  # fmt: skip
        timers = await _timers(h)
        assert set(timers) == {"nudge"} and timers["nudge"].flow == "waiter"


async def test_a_timer_the_caller_sets_as_it_calls_is_paused_too(url: str) -> None:
    class Eager(Waiter):
        name = "eager"
        transitions = [
            T("message", "start", "calling", after="remind"),
            *Waiter.transitions[1:],  # the three exits, the nudge, messages after
        ]

        def remind(self, turn: Turn) -> None:
            turn.schedule("nudge", "1h", keep=True)  # replaces the 2-hour one
            turn.schedule("bound", "1h")  # bound to the calling state: never set

    async with Harness.of([Eager], Router(default="eager"), database_url=url) as h:
        phone = h.phone(ME)
        await phone.send("hi")
        await phone.send("go")
        assert set(await _timers(h)) == {"ask.silence", "ping"}
        stored = await h.store.conversation(KEY)
        assert stored is not None
        assert [(t["name"], t["left"]) for t in stored.stack[0]["timers"]] == [("nudge", 3600.0)]


def test_a_calling_state_cannot_declare_timeouts() -> None:
    class Impatient(Waiter):
        name = "impatient"
        timeouts = {"calling": [Timeout("1h", "too_slow")]}
        transitions = [*Waiter.transitions, T("too_slow", "calling", "after")]

    with pytest.raises(FlowDefinitionError, match=r"'impatient' calls 'asker'.*timeouts"):
        compile_flow(Impatient)


async def test_a_restart_mid_subflow_drops_the_childs_timers_with_the_stack(url: str) -> None:
    class Restarting(Waiter):
        name = "restarting"
        on_opt_in = "restart"

    async with Harness.of([Restarting], Router(default="restarting"), database_url=url) as h:
        phone = h.phone(ME)
        await phone.send("hi")
        await phone.send("go")
        assert set(await _timers(h)) == {"ask.silence", "ping"}
        await phone.send("STOP")
        assert set(await _timers(h)) == {"ask.silence", "ping"}  # STOP keeps the place
        await phone.send("START")
        stored = await h.store.conversation(KEY)
        assert stored is not None and (stored.flow, stored.state, stored.stack) == (
            "restarting", "start", ()
        )  # fmt: skip
        timers = await _timers(h)
        assert set(timers) == {"nudge"} and timers["nudge"].flow == "restarting"
