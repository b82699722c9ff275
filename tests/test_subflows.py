"""Issue 15: subflows — a flow calls another and continues on its result, on both backends.

Nesting (a parent calls a child that calls a grandchild), a restart mid-subflow (a new app on
the same database), the child's own timeout as the ``expired`` exit, and registration errors
that name parent and child.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot import Flow, Router, T, Timeout, Turn, text_is
from bot.engine.engine import DEFAULT_APOLOGY
from bot.errors import FlowDefinitionError
from bot.flow.definition import compile_flow
from bot.flow.subflow import MAX_DEPTH
from bot.runtime import compile_flows
from bot.testing import Harness

KEY = "sms:+15550100000:+15550001111"
ME = "+15550001111"


class Grandchild(Flow):
    name = "grandchild"
    states = ["ask", "done"]
    initial = "ask"
    final_states = ["done"]
    transitions = [T("message", "ask", "done", after="keep")]

    def on_enter_ask(self, turn: Turn) -> None:
        turn.say(f"Grandchild asks {turn.data['what']}?")

    def keep(self, turn: Turn) -> None:
        turn.data["result"] = turn.text


class Child(Flow):
    """Asks for a code; ``deeper`` goes one level further; silence for an hour expires."""

    name = "child"
    states = ["ask", "deeper", "ok", "wrong", "timed_out"]
    initial = "ask"
    final_states = ["ok", "wrong", "timed_out"]
    outcomes = {"wrong": "failed", "timed_out": "expired"}
    subflows = {"deeper": Grandchild}
    timeouts = {"ask": [Timeout("1h", "silence")]}
    transitions = [
        T("message", "ask", "ok", conditions=text_is("1234"), after="keep"),
        T("message", "ask", "deeper", conditions=text_is("more"), after="go_deeper"),
        T("message", "ask", "wrong"),
        T("silence", "ask", "timed_out"),
        T("completed", "deeper", "ok", after="keep_result"),
    ]

    def on_enter_ask(self, turn: Turn) -> None:
        turn.say(f"Child for {turn.data['who']}: the code?")

    def keep(self, turn: Turn) -> None:
        turn.data["result"] = {"code_ok": True}

    def go_deeper(self, turn: Turn) -> None:
        turn.call(Grandchild, what="colour")

    def keep_result(self, turn: Turn) -> None:
        assert turn.result is not None
        turn.data["result"] = {"colour": turn.result.value}


class Parent(Flow):
    name = "parent"
    states = ["start", "calling", "happy", "sad", "late"]
    initial = "start"
    final_states = ["happy", "sad", "late"]
    subflows = {"calling": Child}
    transitions = [
        T("message", "start", "calling", after="call"),
        T("completed", "calling", "happy", after="report"),
        T("failed", "calling", "sad", after="report"),
        T("expired", "calling", "late", after="report"),
    ]

    def on_enter_start(self, turn: Turn) -> None:
        turn.data["mine"] = "kept"
        turn.say("Parent starts.")

    def call(self, turn: Turn) -> None:
        turn.call(Child, who="Ada")

    def report(self, turn: Turn) -> None:
        result = turn.result
        assert result is not None
        turn.say(f"Parent got {result.outcome.value} {result.value} ({turn.data['mine']})")


def build_router() -> Router:
    return Router(default="parent")


def harness(url: str, **kwargs: Any) -> Harness:
    return Harness.of([Parent], build_router(), database_url=url, **kwargs)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


async def test_a_child_completes_with_a_value_and_the_parent_continues(url: str) -> None:
    async with harness(url) as h:
        phone = h.phone(ME)
        assert (await phone.send("hi")).messages == ["Parent starts."]
        assert (await phone.send("go")).messages == ["Child for Ada: the code?"]
        stored = await h.store.conversation(KEY)
        assert stored is not None and (stored.flow, stored.state) == ("child", "ask")
        assert [f["flow"] for f in stored.stack] == ["parent"]
        reply = await phone.send("1234")
        assert reply.messages == ["Parent got completed {'code_ok': True} (kept)"]
        stored = await h.store.conversation(KEY)
        assert stored is not None and (stored.flow, stored.state, stored.stack) == (
            "parent", "happy", ()
        )  # fmt: skip
        assert stored.closed


async def test_a_failed_child_takes_the_failed_exit(url: str) -> None:
    async with harness(url) as h:
        phone = h.phone(ME)
        await phone.send("hi")
        await phone.send("go")
        assert (await phone.send("nope")).messages == ["Parent got failed None (kept)"]


async def test_nesting_two_levels_survives_a_restart(url: str) -> None:
    async with harness(url) as h:
        phone = h.phone(ME)
        await phone.send("hi")
        await phone.send("go")
        assert (await phone.send("more")).messages == ["Grandchild asks colour?"]
        stored = await h.store.conversation(KEY)
        assert stored is not None and [f["flow"] for f in stored.stack] == ["parent", "child"]
        await h.deploy(lambda s, *, store, clock: harness(url).factory(s, store=store, clock=clock))
        reply = await h.phone(ME).send("blue")
        assert reply.messages == ["Parent got completed {'colour': 'blue'} (kept)"]


async def test_the_childs_own_timeout_is_the_expired_exit(url: str) -> None:
    async with harness(url) as h:
        phone = h.phone(ME)
        await phone.send("hi")
        await phone.send("go")
        h.clock.advance(3601)
        await h.drain()
        sent = [m.body for m in h.twilio.messages.values()] if h.twilio else []
        assert "Parent got expired None (kept)" in sent
        stored = await h.store.conversation(KEY)
        assert stored is not None and (stored.flow, stored.state) == ("parent", "late")


async def test_stop_in_a_subflow_keeps_its_place(url: str) -> None:
    async with harness(url) as h:
        phone = h.phone(ME)
        await phone.send("hi")
        await phone.send("go")
        await phone.send("STOP")
        stored = await h.store.conversation(KEY)
        assert stored is not None and stored.flow == "child"  # STOP keeps the place


def test_a_parent_missing_an_exit_is_refused_naming_parent_and_child() -> None:
    class Careless(Flow):
        name = "careless"
        states = ["start", "calling", "done"]
        initial = "start"
        final_states = ["done"]
        subflows = {"calling": Child}
        transitions = [T("message", "start", "calling"), T("completed", "calling", "done")]

    with pytest.raises(
        FlowDefinitionError, match=r"'careless' calls 'child'.*no '(failed|expired)'"
    ):
        compile_flow(Careless)


def test_an_unregistered_child_is_refused_at_registration() -> None:
    class ByName(Flow):
        name = "by_name"
        states = ["start", "calling", "done"]
        initial = "start"
        final_states = ["done"]
        subflows = {"calling": "nowhere"}
        transitions = [T("message", "start", "calling"), T("completed", "calling", "done")]

    with pytest.raises(FlowDefinitionError, match=r"'by_name' calls 'nowhere'.*no flow"):
        compile_flows([ByName], Router(default="by_name"))


def test_children_named_as_classes_are_registered_with_their_parent() -> None:
    compiled = compile_flows([Parent], Router(default="parent"))
    assert set(compiled) == {"parent", "child", "grandchild"}


def test_a_subflow_state_cannot_be_final() -> None:
    class Odd(Flow):
        name = "odd"
        states = ["start", "calling"]
        initial = "start"
        final_states = ["calling"]
        subflows = {"calling": Child}
        transitions = [T("message", "start", "calling")]

    with pytest.raises(FlowDefinitionError, match=r"'odd' calls 'child'.*final"):
        compile_flow(Odd)


def test_outcomes_name_final_states() -> None:
    class Bad(Flow):
        name = "bad"
        states = ["a", "b"]
        initial = "a"
        final_states = ["b"]
        outcomes = {"a": "failed"}
        transitions = [T("message", "a", "b")]

    with pytest.raises(FlowDefinitionError, match=r"'bad'.*'a'"):
        compile_flow(Bad)


def test_a_child_named_by_string_is_checked_for_every_exit_at_registration() -> None:
    class ByName(Flow):
        name = "by_name"
        states = ["start", "calling", "done"]
        initial = "start"
        final_states = ["done"]
        subflows = {"calling": "child"}
        transitions = [T("message", "start", "calling"), T("completed", "calling", "done")]

    with pytest.raises(
        FlowDefinitionError,
        match=r"'by_name' calls 'child' in state 'calling' but has no '(failed|expired)'",
    ):
        compile_flows([ByName, Child], Router(default="by_name"))


class Again(Flow):
    """Calls itself on every message: the depth limit stops it."""

    name = "again"
    states = ["ask", "deeper", "done"]
    initial = "ask"
    final_states = ["done"]
    subflows = {"deeper": "again"}
    transitions = [
        T("message", "ask", "deeper"),
        *[T(exit, "deeper", "done") for exit in ("completed", "failed", "expired")],
    ]

    def on_enter_ask(self, turn: Turn) -> None:
        turn.say("Again?")


async def test_calls_nested_deeper_than_the_limit_fail_the_step_and_write_nothing(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Harness.of([Again], Router(default="again"), database_url=url) as h:
        phone = h.phone(ME)
        await phone.send("hi")
        for depth in range(1, MAX_DEPTH + 1):
            assert (await phone.send("more")).messages == ["Again?"]
            stored = await h.store.conversation(KEY)
            assert stored is not None and len(stored.stack) == depth
        reply = await phone.send("more")
        assert reply.messages == [DEFAULT_APOLOGY]
        stored = await h.store.conversation(KEY)
        assert stored is not None and len(stored.stack) == MAX_DEPTH
        assert "nested deeper than 8" in caplog.text
