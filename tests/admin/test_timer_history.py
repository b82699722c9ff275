"""Timers set, fired and cancelled are in a conversation's timeline, on both backends: each
written by the commit of the turn or action that set or dropped it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot import Router
from bot.outbound.start import start_conversation
from bot.testing import Harness
from storage.records import TurnWrite
from tests.admin.conftest import TOKENS, Api, path
from tests.test_subflows import Grandchild, Parent

PERSON = "+15550004444"


async def _start(harness: Harness) -> str:
    started = await start_conversation(
        harness.engine, "appointments", PERSON, from_="+15550100000",
        data={"name": "Ann", "when": "Friday"},
    )  # fmt: skip
    return started.key


async def _timers(api: Api, key: str) -> list[tuple[Any, ...]]:
    status, shown = await api.get(path(key))
    assert status == 200
    return [(t["event"], t["name"], t["reason"]) for t in shown["timeline"] if t["type"] == "timer"]


async def test_set_fired_and_cancelled_when_closed(harness: Harness, api: Api) -> None:
    key = await _start(harness)
    assert await _timers(api, key) == [
        ("set", "reminding.no_reply", None), ("set", "reminding.day_passed", None),
    ]  # fmt: skip
    harness.clock.advance(timedelta(hours=2, seconds=1))
    assert await harness.runtime.timers.run_once() == 1  # no_reply fires: a reminder
    await harness.phone(PERSON).send("c")  # confirmed: final, so the conversation closes
    assert await _timers(api, key) == [
        ("set", "reminding.no_reply", None), ("set", "reminding.day_passed", None),
        ("fired", "reminding.no_reply", None), ("cancelled", "reminding.day_passed", "closed"),
    ]  # fmt: skip
    _, shown = await api.get(path(key))
    fired = next(t for t in shown["timeline"] if t["type"] == "timer" and t["event"] == "fired")
    assert (fired["trigger"], fired["state"]) == ("no_reply", "reminding")


async def test_cancelled_on_leaving_their_state(harness: Harness, api: Api) -> None:
    key = await _start(harness)
    await harness.phone(PERSON).send("r")  # rescheduling: the reminding timers go
    assert sorted(await _timers(api, key))[:2] == [
        ("cancelled", "reminding.day_passed", "left state"),
        ("cancelled", "reminding.no_reply", "left state"),
    ]


async def test_operator_cancel_and_fire(harness: Harness, api: Api) -> None:
    key = await _start(harness)
    await api.post(path(key) + "/timers/reminding.day_passed/cancel")
    await api.post(path(key) + "/timers/reminding.no_reply/fire")
    assert (await _timers(api, key))[2:] == [
        ("cancelled", "reminding.day_passed", "operator alice"),
        ("fired", "reminding.no_reply", None),
    ]
    # the runner cannot fire it a second time: its step's idempotency key is taken
    harness.clock.advance(timedelta(hours=3))
    assert await harness.runtime.timers.run_once() == 0


async def test_a_subflow_call_takes_its_callers_timers_with_history(database: str) -> None:
    """The child's timer of its state ``ask`` goes when the child calls a grandchild (whose
    state is also ``ask``: a regression, the cancel once compared the state's name only),
    and the timeline says why."""
    async with Harness.of(
        [Parent], Router(default="parent"), database_url=database,
        settings={"console_tokens": TOKENS},
    ) as harness:  # fmt: skip
        phone = harness.phone("+15550001111")
        for words in ("hi", "go", "more"):  # parent → child (ask, a timer) → grandchild (ask)
            await phone.send(words)
        api = Api(harness)
        _, shown = await api.get(path("sms:+15550100000:+15550001111"))
        assert shown["timers"] == []
        assert [(t["event"], t["name"], t["reason"]) for t in shown["timeline"]
                if t["type"] == "timer"] == [
            ("set", "ask.silence", None),
            ("cancelled", "ask.silence", "call stack changed"),
        ]  # fmt: skip


async def test_a_timer_whose_flow_is_not_deployed_is_dropped_with_a_warning(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: a timer of a flow removed from the app was dropped with no log line, its
    history saying the conversation had moved on. Now one WARNING names the conversation,
    the timer and why, and the history says the same."""
    key = "sms:+15550100000:+15550001111"
    settings = {"console_tokens": TOKENS}
    async with Harness.of(
        [Parent], Router(default="parent"), database_url=database, settings=settings
    ) as harness:
        for words in ("hi", "go"):  # the child runs; its ask.silence timer is set
            await harness.phone("+15550001111").send(words)
        other = Harness.of([Grandchild], Router(default="grandchild"), settings=settings)
        await harness.deploy(other.factory)  # neither parent nor child is deployed now
        before = await harness.store.conversation(key)
        harness.clock.advance(timedelta(hours=2))
        with caplog.at_level(logging.WARNING, "switchboard.timers"):
            assert await harness.runtime.timers.run_once() == 1
        warned = [r.getMessage() for r in caplog.records if r.name == "switchboard.timers"]
        assert len(warned) == 1
        assert key in warned[0] and "ask.silence" in warned[0] and "'child'" in warned[0]
        assert "not deployed" in warned[0]
        assert (await _timers(Api(harness), key))[-1] == (
            "cancelled", "ask.silence", "not fired: flow child is not deployed",
        )  # fmt: skip
        assert await harness.store.conversation(key) == before  # nothing ran
        assert await harness.runtime.timers.run_once() == 0  # it is gone, not retried


async def test_a_timer_whose_conversation_moved_on_is_dropped_with_a_log_line(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A timer still stored when its conversation is elsewhere (written by a process that
    left it behind) is not fired: an INFO line and its history say so."""
    key = "sms:+15550100000:+15550001111"
    async with Harness.of(
        [Parent], Router(default="parent"), database_url=database,
        settings={"console_tokens": TOKENS},
    ) as harness:  # fmt: skip
        for words in ("hi", "go"):  # the child runs; its ask.silence timer is set
            await harness.phone("+15550001111").send(words)
        stored = await harness.store.conversation(key)
        assert stored is not None
        elsewhere = replace(stored, flow="parent", state="start", stack=(),
                            version=stored.version + 1)  # fmt: skip
        now = harness.clock.now()
        await harness.store.commit(TurnWrite(elsewhere, [], [], "", now, moved=False))
        harness.clock.advance(timedelta(hours=2))
        with caplog.at_level(logging.INFO, "switchboard.timers"):
            assert await harness.runtime.timers.run_once() == 1
        said = [r.getMessage() for r in caplog.records if r.name == "switchboard.timers"]
        assert len(said) == 1 and key in said[0] and "ask.silence" in said[0]
        assert "moved on" in said[0]
        assert (await _timers(Api(harness), key))[-1] == (
            "cancelled", "ask.silence", "not fired: its conversation had moved on",
        )  # fmt: skip
        assert await harness.store.conversation(key) == elsewhere  # nothing ran
