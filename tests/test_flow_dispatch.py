"""A synchronous flow fires its transitions directly (bot.flow.dispatch), exactly as its
``transitions`` machine would: same callbacks in the same order, same resulting state."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from bot import Flow, T, Turn, compile_flow
from bot.flow.definition import CompiledFlow
from flows import EXAMPLE_FLOWS

LOG: list[str] = []


def _cond(name: str, value: Any) -> Any:
    def check(turn: Any) -> Any:
        LOG.append(f"cond {name}")
        return value

    return check


class Recorder(Flow):
    name = "recorder"
    initial = "a"
    states = ["a", "b", "c"]
    transitions = [
        T("go", "a", "b", conditions=[_cond("no", False)], before="before_b"),
        T("go", "a", "c", conditions=[_cond("one", 1), "yes_method"], unless="is_false",
          prepare="prep", before=["before_c", _cond("plain", None)], after="after_c"),
        T("go", ["b", "c"], "=", after="after_same"),
        T("stay", "*", None, before="before_c", after="after_c"),
        T("truthy", "a", "b", conditions=[_cond("yes-string", "yes")]),
        T("truthy", "a", "c", unless=[_cond("zero", 0)]),
        T("boom", "a", "b", after="explode"),
        T("back", ["b", "c"], "a", prepare="prep"),
    ]  # fmt: skip
    triggers = ["go", "stay", "truthy", "boom", "back"]

    def prep(self, turn: Any) -> None:
        LOG.append(f"prep in {self.state}")

    def yes_method(self, turn: Any) -> bool:
        LOG.append("cond yes_method")
        return True

    def is_false(self, turn: Any) -> bool:
        LOG.append("cond is_false")
        return False

    def before_b(self, turn: Any) -> None:
        LOG.append(f"before_b in {self.state}")

    def before_c(self, turn: Any) -> None:
        LOG.append(f"before_c in {self.state}")

    def after_c(self, turn: Any) -> None:
        LOG.append(f"after_c in {self.state}")

    def after_same(self, turn: Any) -> None:
        LOG.append(f"after_same in {self.state}")

    def explode(self, turn: Any) -> None:
        LOG.append(f"explode in {self.state}")
        raise RuntimeError("boom")

    def on_enter_b(self, turn: Any) -> None:
        LOG.append(f"enter b, turn {turn}")

    def on_exit_a(self, turn: Any) -> None:
        LOG.append(f"exit a in {self.state}")

    def on_enter_c(self, turn: Any) -> None:
        LOG.append(f"enter c in {self.state}")

    def on_exit_c(self, turn: Any) -> None:
        LOG.append(f"exit c in {self.state}")


async def _fire(flow: CompiledFlow, trigger: str, state: str) -> tuple[Any, list[str]]:
    LOG.clear()
    try:
        outcome: Any = await flow.fire(trigger, state, "turn")  # type: ignore[arg-type]
    except RuntimeError as exc:
        outcome = repr(exc)
    return outcome, list(LOG)


@pytest.mark.parametrize("cls", [Recorder, *EXAMPLE_FLOWS])
async def test_direct_dispatch_does_what_the_machine_does(cls: type[Flow]) -> None:
    direct = compile_flow(cls)
    assert direct.dispatch is not None
    machine = replace(direct, dispatch=None)
    triggers = [*sorted(direct.triggers), "nothing"]
    for trigger, state in itertools.product(triggers, direct.cls.states):
        if cls is not Recorder and direct.handles(trigger, state):
            continue  # example flows' callbacks need a real turn: checked by the engine tests
        assert await _fire(direct, trigger, state) == await _fire(machine, trigger, state)


async def test_recorder_covers_the_callback_kinds() -> None:
    flow = compile_flow(Recorder)
    assert await _fire(flow, "go", "a") == (
        (True, "c"),
        ["cond no", "prep in a", "cond one", "cond yes_method", "cond is_false",
         "before_c in a", "cond plain", "exit a in a", "enter c in c", "after_c in c"],
    )  # fmt: skip
    assert await _fire(flow, "truthy", "a") == (
        (True, "c"),
        ["cond yes-string", "cond zero", "exit a in a", "enter c in c"],
    )
    assert (await _fire(flow, "stay", "b"))[0] == (True, "b")
    assert (await _fire(flow, "boom", "a"))[0] == "RuntimeError('boom')"


def test_async_flows_fire_through_their_machine() -> None:
    class Async(Flow):
        name = "async"
        initial = "a"
        states = ["a", "b"]
        transitions = [T("message", "a", "b", after="done")]

        async def done(self, turn: Turn) -> None:
            return None

    assert compile_flow(Async).dispatch is None
