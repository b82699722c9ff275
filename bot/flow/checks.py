"""Static checks of a compiled flow: what ``switchboard flows check`` warns about.

These find definitions that are legal but probably wrong; compiling refuses only what cannot
run. Each :class:`Finding` names the flow, the state and the problem:

- ``unreachable``: no transition leads to the state from the initial one (compiling already
  refuses this; kept so a check of any definition reports it);
- ``dead_end``: the state has no transition to another state and is not final, so a
  conversation there can never move on or close;
- ``no_invalid``: in a flow that takes text, free text in this state may fall through every
  ``message`` condition, and no ``invalid`` transition catches it, so it gets no answer (not
  asked of a state that runs a subflow: the child takes the text);
- ``timer_cannot_fire``: a Timeout armed in a final state (a closed conversation's timers are
  dropped), or a transition on a timer's trigger from a state where no Timeout arms it
  (it can fire only if a callback schedules it with ``turn.schedule``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.flow.definition import CompiledFlow

__all__ = ["Finding", "Problem", "static_checks"]


class Problem(StrEnum):
    """What a static check found."""

    UNREACHABLE = "unreachable"
    DEAD_END = "dead_end"
    NO_INVALID = "no_invalid"
    TIMER_CANNOT_FIRE = "timer_cannot_fire"


@dataclass(frozen=True)
class Finding:
    """One problem of one state of one flow, with a sentence saying what to do."""

    flow: str
    state: str
    problem: Problem
    detail: str


def _sources(spec: Mapping[str, Any], states: list[str]) -> list[str]:
    raw = spec.get("source")
    found = list(raw) if isinstance(raw, list | tuple | set | frozenset) else [raw]
    return states if "*" in found else [str(s) for s in found]


def static_checks(flow: CompiledFlow) -> list[Finding]:
    """Every finding for ``flow``, in the order of its states."""
    states = list(flow.cls.states)
    specs = [dict(s) for s in flow.cls.transitions]
    found = _unreachable(flow, states, specs)
    for state in states:
        if flow.is_final(state):
            continue
        found += _dead_end(flow, state, states, specs) + _no_invalid(flow, state, states, specs)
    return found + _timers(flow, states, specs)


def _unreachable(
    flow: CompiledFlow, states: list[str], specs: list[dict[str, Any]]
) -> list[Finding]:
    seen, todo = {flow.initial}, [flow.initial]
    while todo:
        here = todo.pop()
        for spec in specs:
            dest = spec.get("dest")
            if dest not in (None, "=") and dest not in seen and here in _sources(spec, states):
                seen.add(dest)
                todo.append(dest)
    return [
        Finding(
            flow.name, s, Problem.UNREACHABLE, f"no transition leads to it from {flow.initial!r}"
        )
        for s in states
        if s not in seen
    ]


def _dead_end(
    flow: CompiledFlow, state: str, states: list[str], specs: list[dict[str, Any]]
) -> list[Finding]:
    for spec in specs:
        if state in _sources(spec, states) and spec.get("dest") not in (None, "=", state):
            return []
    why = "no transition leaves it and it is not final: add a way out or list it in final_states"
    return [Finding(flow.name, state, Problem.DEAD_END, why)]


def _no_invalid(
    flow: CompiledFlow, state: str, states: list[str], specs: list[dict[str, Any]]
) -> list[Finding]:
    if "message" not in flow.triggers or flow.handles("invalid", state):
        return []
    if state in flow.cls.subflows:  # while its child runs, the person's text goes to the child
        return []
    for spec in specs:
        takes_all = not spec.get("conditions") and not spec.get("unless")
        if spec["trigger"] == "message" and takes_all and state in _sources(spec, states):
            return []
    why = "free text that no `message` transition takes gets no answer: add T('invalid', ...)"
    return [Finding(flow.name, state, Problem.NO_INVALID, why)]


def _timers(flow: CompiledFlow, states: list[str], specs: list[dict[str, Any]]) -> list[Finding]:
    armed = {(s, t.trigger) for s, items in flow.cls.timeouts.items() for t in items}
    found = [
        Finding(flow.name, s, Problem.TIMER_CANNOT_FIRE,
                f"Timeout {trigger!r} is armed in a final state, whose timers are dropped")
        for s, trigger in sorted(armed)
        if flow.is_final(s)
    ]  # fmt: skip
    timer_triggers = {trigger for _, trigger in armed}
    for spec in specs:
        trigger = spec["trigger"]
        if trigger not in timer_triggers:
            continue
        for state in _sources(spec, states):
            if (state, trigger) not in armed and not flow.is_final(state):
                why = (
                    f"the transition on timer {trigger!r} from here fires only if a callback "
                    "schedules it (no Timeout arms it in this state)"
                )
                found.append(Finding(flow.name, state, Problem.TIMER_CANNOT_FIRE, why))
    return found
