"""Subflows: a flow calls another flow and continues on its result.

A parent declares which child runs in which of its states::

    class SignUp(Flow):
        states = ["ask_name", "verifying", "welcome", "unverified"]
        subflows = {"verifying": VerifyPhone}          # or the child's name: "verify_phone"
        transitions = [
            T("message", "ask_name", "verifying"),
            T("completed", "verifying", "welcome"),   # every exit the child can take
            T("failed", "verifying", "unverified"),
            T("expired", "verifying", "unverified"),
        ]

Whenever a step of the parent ends in ``verifying`` the child starts (its data: the
arguments of ``turn.call(VerifyPhone, to=...)`` made in that step, else ``{}``). The child
ends in one of its ``final_states``; its ``outcomes`` map each to an :class:`Outcome`
(``completed`` unless said otherwise; ``expired`` is for a final state the child's own
:class:`~bot.flow.intents.Timeout` leads to). The parent then fires the trigger named after
the outcome from the state it waited in, with ``turn.result`` (a :class:`Result`; its value
is the child's ``data["result"]``).

This module declares and validates; :mod:`bot.engine.subflows` runs the call stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.errors import FlowDefinitionError

if TYPE_CHECKING:
    from bot.flow.definition import CompiledFlow, Flow

__all__ = [
    "MAX_DEPTH",
    "CallIntent",
    "Outcome",
    "Result",
    "calls_of",
    "check_calls",
    "check_declaration",
    "child_name",
    "fired_triggers",
    "outcome_of",
    "with_children",
]

MAX_DEPTH = 8  # nested calls deeper than this are a loop, not a design


class Outcome(StrEnum):
    """How a subflow ended; also the trigger its caller fires."""

    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Result:
    """What a finished subflow hands its caller (``turn.result`` in the caller's step)."""

    flow: str
    outcome: Outcome
    value: Any = None  # the child's data["result"], JSON


@dataclass(frozen=True, slots=True)
class CallIntent:
    """``turn.call(child, **args)``: the arguments for the child the step's state runs."""

    child: str
    args: dict[str, Any] = field(default_factory=dict)


def child_name(child: type[Flow] | str) -> str:
    """The flow name of a child given as a class or a name."""
    if isinstance(child, str):
        return child
    name = getattr(child, "name", None)
    if not isinstance(name, str) or not name:
        raise FlowDefinitionError(f"subflow {child!r} is not a flow with a name")
    return name


def calls_of(cls: type[Flow]) -> dict[str, str]:
    """The parent's subflow states: state -> child flow name."""
    return {state: child_name(child) for state, child in dict(cls.subflows).items()}


def fired_triggers(cls: type[Flow]) -> list[str]:
    """The flow's declared ``triggers``, ``started`` (fired when it is called as a
    subflow), and the outcomes when it calls subflows (fired on their return)."""
    outcomes = [o.value for o in Outcome] if dict(cls.subflows) else []
    return [*cls.triggers, "started", *outcomes]


def outcome_of(cls: type[Flow], state: str) -> Outcome:
    """The outcome a child ending in final ``state`` returns."""
    return Outcome(dict(cls.outcomes).get(state, Outcome.COMPLETED))


def _exits(cls: type[Flow]) -> dict[Outcome, str]:
    """Each outcome the child can return, with a final state that returns it."""
    return {outcome_of(cls, state): state for state in reversed(cls.final_states)}


def check_declaration(cls: type[Flow], flow: str, states: set[str], handles: Any) -> None:
    """Validate ``subflows`` and ``outcomes`` of one flow (children given as classes are
    checked here too; children given by name when the flows are registered)."""
    for state, value in dict(cls.outcomes).items():
        if state not in cls.final_states:
            raise FlowDefinitionError(f"flow {flow!r}: outcome of {state!r}, not a final state")
        if value not in set(Outcome):
            known = ", ".join(Outcome)
            raise FlowDefinitionError(f"flow {flow!r}: outcome {value!r} of {state!r}: {known}")
    for state, child in dict(cls.subflows).items():
        name = child_name(child)
        where = f"flow {flow!r} calls {name!r} in state {state!r}"
        if state not in states:
            raise FlowDefinitionError(f"{where}, which is not one of its states")
        if state in cls.final_states:
            raise FlowDefinitionError(f"{where}, which is final: nothing would take the result")
        if dict(getattr(cls, "timeouts", {}) or {}).get(state):
            raise FlowDefinitionError(
                f"{where}, which declares timeouts: they cannot fire (a caller's timers are "
                "paused while its child runs); give the child a Timeout leading to a final "
                "state whose outcome is 'expired'"
            )
        if not isinstance(child, str):
            _check_exits(where, child, state, handles)


def _check_exits(where: str, child: type[Flow], state: str, handles: Any) -> None:
    for outcome, final in _exits(child).items():
        if not handles(outcome.value, state):
            raise FlowDefinitionError(
                f"{where} but has no {outcome.value!r} transition out of {state!r} "
                f"(the child ends {outcome.value} in its state {final!r})"
            )
    if not child.final_states:
        raise FlowDefinitionError(f"{where}, but {child_name(child)!r} has no final state")


def check_calls(flows: Mapping[str, CompiledFlow]) -> None:
    """At registration: every child exists and every parent handles each of its exits."""
    for parent in flows.values():
        for state, name in calls_of(parent.cls).items():
            where = f"flow {parent.name!r} calls {name!r} in state {state!r}"
            child = flows.get(name)
            if child is None:
                raise FlowDefinitionError(f"{where}, but no flow {name!r} is registered")
            _check_exits(where, child.cls, state, parent.handles)


def with_children(flows: list[type[Flow]]) -> list[type[Flow]]:
    """``flows`` and every child they name as a class, transitively (each once)."""
    found: dict[str, type[Flow]] = {}
    todo = list(flows)
    while todo:
        cls = todo.pop(0)
        name = getattr(cls, "name", None) or cls.__name__
        if found.setdefault(name, cls) is not cls:
            continue
        todo += [c for c in dict(getattr(cls, "subflows", {})).values() if not isinstance(c, str)]
    return list(found.values())
