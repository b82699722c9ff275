"""Flows are validated when compiled, with errors naming the flow and the item."""

from __future__ import annotations

from typing import Any

import pytest

from bot import Flow, FlowDefinitionError, T, Turn, compile_flow


def make(**attrs: Any) -> type[Flow]:
    base: dict[str, Any] = {
        "name": "demo",
        "initial": "a",
        "states": ["a", "b"],
        "transitions": [T("message", "a", "b")],
    }
    base.update(attrs)
    return type("Demo", (Flow,), base)


def test_a_good_flow_compiles_once_into_one_machine() -> None:
    compiled = compile_flow(make())
    assert compiled.name == "demo"
    assert compiled.handles("message", "a")
    assert not compiled.handles("message", "b")


@pytest.mark.parametrize(
    "attrs, message",
    [
        ({"name": ""}, "needs a `name`"),
        ({"states": []}, "declares no states"),
        ({"initial": None}, "has no initial state"),
        ({"initial": "zzz"}, "initial state 'zzz' is not one of its states"),
        ({"states": ["a", "b", "a"]}, "declares a state twice"),
        ({"states": ["a", "b c"]}, "state 'b c' must be a name"),
        ({"transitions": [T("message", "a", "nowhere")]}, "goes to unknown state 'nowhere'"),
        ({"transitions": [T("message", "x", "b")]}, "starts from unknown state 'x'"),
        ({"transitions": [T("message", "a", "b", conditions="nope")]}, "names 'nope'"),
        ({"transitions": [T("message", "a", "b", after="nope")]}, "after names 'nope'"),
        ({"transitions": [T("message", "a", "b", conditions=42)]}, "neither a method name"),
        (
            {"transitions": [{"trigger": "go", "source": "a", "dest": "b", "bogus": 1}]},
            "unknown keys",
        ),
        ({"transitions": [T("not valid", "a", "b")]}, "needs a trigger name"),
        ({"transitions": []}, "states ['b'] cannot be reached from 'a'"),
        ({"final_states": ["c"]}, "final state 'c' is not one of its states"),
        ({"on_enter_c": lambda self, turn: None}, "method 'on_enter_c' names unknown state 'c'"),
    ],
)
def test_mistakes_are_rejected_naming_flow_and_item(attrs: dict[str, Any], message: str) -> None:
    with pytest.raises(FlowDefinitionError) as caught:
        compile_flow(make(**attrs))
    assert message in str(caught.value)
    if attrs.get("name") != "":
        assert "flow 'demo'" in str(caught.value)


def test_wildcard_source_reaches_its_destination() -> None:
    flow = make(
        states=["a", "b", "c"],
        transitions=[T("go", "a", "b"), T("reset", "*", "c")],
        triggers=["go", "reset"],
    )
    compiled = compile_flow(flow)
    assert compiled.handles("reset", "b") and compiled.handles("reset", "c")


class Recorder(Flow):
    name = "recorder"
    initial = "start"
    states = ["start", "middle", "end"]
    final_states = ["end"]
    transitions = [
        T("message", "start", "middle", conditions="is_yes", after="note"),
        T("message", "middle", "end"),
    ]

    def is_yes(self, turn: Turn) -> bool:
        return turn.text == "yes"

    def note(self, turn: Turn) -> None:
        turn.data["noted"] = True

    def on_enter_middle(self, turn: Turn) -> None:
        turn.say("in the middle")


class AsyncRecorder(Flow):
    name = "async_recorder"
    initial = "start"
    states = ["start", "middle"]
    transitions = [T("message", "start", "middle", conditions="is_yes")]

    async def is_yes(self, turn: Turn) -> bool:
        return turn.text == "yes"

    async def on_enter_middle(self, turn: Turn) -> None:
        turn.say("async middle")


def test_sync_flows_use_a_plain_machine_and_async_ones_an_async_machine() -> None:
    from transitions.extensions.asyncio import AsyncMachine

    assert not isinstance(compile_flow(Recorder).machine, AsyncMachine)
    assert isinstance(compile_flow(AsyncRecorder).machine, AsyncMachine)


def test_a_flow_can_be_compiled_many_times_without_leaking_models() -> None:
    compiled = compile_flow(Recorder)
    assert compiled.machine.models == []


def test_a_misspelt_trigger_is_refused_naming_the_likely_one() -> None:
    with pytest.raises(FlowDefinitionError) as caught:
        compile_flow(make(transitions=[T("mesage", "a", "b")]))
    assert "flow 'demo': transition #0 ('mesage') is never fired (did you mean 'message'?)" in str(
        caught.value
    )
    compiled = compile_flow(make(transitions=[T("ping", "a", "b")], triggers=["ping"]))
    assert compiled.handles("ping", "a")  # a trigger the flow fires itself, declared
