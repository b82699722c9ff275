"""A compiled flow's transitions, read once from its ``transitions`` machine and fired directly.

``transitions`` resolves every trigger through its general machinery (an ``EventData``, the
state looked up by name, each callback resolved and logged at debug level: eight ``debug``
calls a trigger); a flow fires one trigger a turn on a throw-away model, so
:func:`dispatch_table` reads the machine's own transitions, conditions and state callbacks once
and :meth:`Dispatch.fire` runs them in the order ``transitions`` does (``Transition.execute``):
``prepare``, the conditions (all must equal their target: ``True``, or ``False`` for
``unless``; the first that does not stops the transition, the next one is tried), ``before``,
then for a transition with a destination the source's ``on_exit``, the new state, the
destination's ``on_enter``, then ``after``. A callback named by a string is the model's
attribute of that name, as in ``transitions``; a callable is called with the turn.

Only for a synchronous machine with no machine-wide callbacks (what :func:`compile_flow`
builds): anything else gets ``None`` and keeps firing through the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from transitions import Machine
from transitions.extensions.asyncio import AsyncMachine

__all__ = ["Dispatch", "dispatch_table"]

Callback = str | Callable[..., Any]

_MACHINE_WIDE = (
    "prepare_event", "before_state_change", "after_state_change", "finalize_event",
    "on_exception", "on_final",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Route:
    """One transition out of one state, with the callbacks it runs."""

    prepare: tuple[Callback, ...]
    conditions: tuple[tuple[Callback, bool], ...]
    before: tuple[Callback, ...]
    dest: str | None
    exit: tuple[Callback, ...]  # the source's on_exit (only with a destination)
    enter: tuple[Callback, ...]  # the destination's on_enter
    after: tuple[Callback, ...]


def _run(callbacks: Iterable[Callback], model: Any, arg: Any) -> None:
    for callback in callbacks:
        (getattr(model, callback) if isinstance(callback, str) else callback)(arg)


@dataclass(frozen=True, slots=True)
class Dispatch:
    """trigger -> source state -> its transitions, in the order they were declared."""

    routes: Mapping[str, Mapping[str, tuple[_Route, ...]]]

    def fire(self, trigger: str, model: Any, turn: Any) -> bool:
        """Fire ``trigger`` on ``model`` (its ``state`` moves); whether a transition ran."""
        for route in self.routes.get(trigger, {}).get(model.state, ()):
            _run(route.prepare, model, turn)
            for check, target in route.conditions:
                found = (getattr(model, check) if isinstance(check, str) else check)(turn)
                if found != target:
                    break
            else:
                _run(route.before, model, turn)
                if route.dest:
                    _run(route.exit, model, turn)
                    model.state = route.dest
                    _run(route.enter, model, turn)
                _run(route.after, model, turn)
                return True
        return False


def _plain(callbacks: Iterable[Any]) -> tuple[Callback, ...] | None:
    found = tuple(callbacks)
    return found if all(isinstance(c, str) or callable(c) for c in found) else None


def dispatch_table(machine: Machine) -> Dispatch | None:
    """The machine's transitions as a :class:`Dispatch`, or ``None`` when it is one this does
    not reproduce (asynchronous, machine-wide callbacks, final states, queued, events sent)."""
    if isinstance(machine, AsyncMachine) or machine.send_event or machine.has_queue:
        return None
    if machine.model_attribute != "state":
        return None
    if any(getattr(machine, name, None) for name in _MACHINE_WIDE):
        return None
    states = machine.states
    if any(getattr(state, "final", False) for state in states.values()):
        return None
    routes: dict[str, dict[str, tuple[_Route, ...]]] = {}
    for trigger, event in machine.events.items():
        by_source: dict[str, tuple[_Route, ...]] = {}
        for source, transitions in event.transitions.items():
            found = []
            for t in transitions:
                dest = t.dest
                parts = (
                    t.prepare, [c.func for c in t.conditions], t.before, t.after,
                    states[source].on_exit if dest else (), states[dest].on_enter if dest else (),
                )  # fmt: skip
                if any(_plain(part) is None for part in parts):
                    return None
                conditions = tuple((c.func, c.target) for c in t.conditions)
                exits, enters = tuple(parts[4]), tuple(parts[5])
                route = _Route(
                    tuple(t.prepare), conditions, tuple(t.before), dest, exits, enters,
                    tuple(t.after),
                )  # fmt: skip
                found.append(route)
            by_source[source] = tuple(found)
        routes[trigger] = by_source
    return Dispatch(routes)
