"""Flows: conversations declared as a class, compiled once into a shared state machine.

A flow class lists its ``states``, ``initial`` state and ``transitions`` (``transitions``
library dicts, or :func:`T`). Conditions and callbacks are method names or callables; each
receives the :class:`~bot.turn.Turn`. ``on_enter_<state>`` / ``on_exit_<state>`` methods are
wired automatically. :func:`compile_flow` validates the class and builds **one** machine for
it; each turn then triggers that machine with a throw-away model instance, so nothing stays
bound after the turn and no machine is built per request.

A flow has a ``version`` (see :mod:`bot.flow.versions`): its declared number, its
``migrations`` from earlier versions, and ``on_lost``, what happens to a stored conversation
the running definition cannot place. They are validated here too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from transitions import Machine
from transitions.extensions.asyncio import AsyncMachine

from bot.errors import FlowDefinitionError
from bot.flow.dispatch import Dispatch, dispatch_table
from bot.flow.intents import Timeout
from bot.flow.subflow import Outcome, check_declaration, fired_triggers
from bot.flow.triggers import unknown_triggers
from bot.flow.versions import DEFAULT_LOST_MESSAGE, Lost, Migration, MigrationCheck, fingerprint

if TYPE_CHECKING:
    from bot.flow.turn import Turn

__all__ = ["CompiledFlow", "Flow", "T", "compile_flow"]

_CALLBACK_KEYS = ("conditions", "unless", "before", "after", "prepare")
_TRANSITION_KEYS = {"trigger", "source", "dest", *_CALLBACK_KEYS}


def T(
    trigger: str, source: str | Sequence[str], dest: str | None, **callbacks: Any
) -> dict[str, Any]:
    """A transition: ``T("message", "menu", "question", conditions=text_is("1"))``.

    ``dest="="`` re-enters the source (its ``on_enter`` runs again); ``dest=None`` is an
    internal transition that runs only ``before``/``after``.
    """
    return {"trigger": trigger, "source": source, "dest": dest, **callbacks}


class Flow:
    """Base class of every flow. Subclasses set the class attributes below.

    ``final_states`` close the conversation: the person's next message starts the flow anew.
    ``on_opt_in`` is what happens when an opted-out person sends START: ``"resume"`` (keep
    the state and data; their next message continues there) or ``"restart"`` (enter the
    initial state afresh). A flow may handle the global trigger ``window_closed``, fired when
    a reply could not go out because the WhatsApp window is closed (see docs/compliance.md).

    ``version`` is the definition's version number; ``migrations`` move stored conversations
    from earlier versions to it; ``on_lost`` (a :class:`~bot.flow.versions.Lost`) and
    ``lost_message`` say what happens to a conversation whose state is gone with no
    migration. See docs/flows.md, "Changing a live flow".
    """

    name: ClassVar[str]
    initial: ClassVar[str]
    states: ClassVar[Sequence[str]]
    transitions: ClassVar[Sequence[Mapping[str, Any]]] = ()
    final_states: ClassVar[Sequence[str]] = ()
    on_opt_in: ClassVar[str] = "resume"
    # state -> Timeouts armed on entering it, cancelled on leaving it (bot.outbound.intents)
    timeouts: ClassVar[Mapping[str, Sequence[Timeout]]] = {}
    version: ClassVar[int] = 1
    migrations: ClassVar[Sequence[Migration]] = ()
    on_lost: ClassVar[Lost | str] = Lost.RESTART
    lost_message: ClassVar[str | None] = DEFAULT_LOST_MESSAGE
    # triggers this flow fires itself with turn.schedule(...) (timeouts' are known already)
    triggers: ClassVar[Sequence[str]] = ()
    # what a person hears when their input matches no transition and the state has no
    # `invalid` one: None answers nothing (the input is still logged as unhandled)
    unhandled_reply: ClassVar[str | None] = None
    # state -> the child flow (class or name) it runs; final state -> how a child ends
    # (bot.flow.subflow, docs/flows.md "Subflows")
    subflows: ClassVar[Mapping[str, type[Flow] | str]] = {}
    outcomes: ClassVar[Mapping[str, Outcome | str]] = {}

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


@dataclass(frozen=True)
class CompiledFlow:
    """A validated flow class and its shared machine."""

    cls: type[Flow]
    machine: Machine
    triggers: Mapping[str, frozenset[str]]  # trigger -> states it can fire from
    version: int = 1
    shape: str = ""  # the definition's structural fingerprint (bot.flow.versions)
    migrations: tuple[Migration, ...] = ()  # ordered by the version they lead to
    state_names: frozenset[str] = frozenset()
    # the machine's transitions fired directly (bot.flow.dispatch); None: through the machine
    dispatch: Dispatch | None = None

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def lost(self) -> Lost:
        """The policy for a stored conversation this definition cannot place."""
        return Lost(self.cls.on_lost)

    async def place_lost(self, turn: Turn, old_state: str) -> str:
        """Hand a conversation that cannot be placed to the flow's ``place_lost`` method;
        returns the state it continues in (which must be one of the flow's)."""
        model = self.cls(self.initial)
        result = getattr(model, "place_lost")(turn, old_state)  # noqa: B009 - validated
        state = await result if inspect.isawaitable(result) else result
        if state not in self.state_names:
            raise FlowDefinitionError(
                f"flow {self.name!r}: place_lost returned {state!r}, which is not a state"
            )
        return str(state)

    @property
    def initial(self) -> str:
        return self.cls.initial

    def is_final(self, state: str) -> bool:
        return state in self.cls.final_states

    def handles(self, trigger: str, state: str) -> bool:
        """Whether ``trigger`` has a transition out of ``state``."""
        return state in self.triggers.get(trigger, frozenset())

    async def enter(self, turn: Turn) -> None:
        """Enter the initial state for a new conversation (runs ``on_enter_<initial>``)."""
        hook = getattr(self.cls, f"on_enter_{self.initial}", None)
        if hook is not None:
            result = hook(self.cls(self.initial), turn)
            if inspect.isawaitable(result):
                await result

    async def fire(self, trigger: str, state: str, turn: Turn) -> tuple[bool, str]:
        """Fire ``trigger`` from ``state``; returns (whether a transition ran, the new state)."""
        if not self.handles(trigger, state):
            return False, state
        model = self.cls(state)
        if self.dispatch is not None:
            return self.dispatch.fire(trigger, model, turn), model.state
        done = self.machine.events[trigger].trigger(model, turn)
        if type(done) is not bool and inspect.isawaitable(done):  # an AsyncMachine's
            done = await done
        return bool(done), model.state


class _Validator:
    def __init__(self, cls: type[Flow]) -> None:
        self.cls = cls
        self.flow = getattr(cls, "name", None) or cls.__name__
        self.is_async = False

    def fail(self, what: str) -> FlowDefinitionError:
        return FlowDefinitionError(f"flow {self.flow!r}: {what}")

    def states(self) -> list[str]:
        states = list(getattr(self.cls, "states", ()) or ())
        if not states:
            raise self.fail("declares no states")
        for state in states:
            if not isinstance(state, str) or not state.isidentifier():
                raise self.fail(f"state {state!r} must be a name (letters, digits, _)")
        if len(set(states)) != len(states):
            raise self.fail("declares a state twice")
        initial = getattr(self.cls, "initial", None)
        if initial is None:
            raise self.fail("has no initial state (set `initial = ...`)")
        if initial not in states:
            raise self.fail(f"initial state {initial!r} is not one of its states")
        for final in self.cls.final_states:
            if final not in states:
                raise self.fail(f"final state {final!r} is not one of its states")
        return states

    def callback(self, where: str, item: Any) -> None:
        if isinstance(item, str):
            target = getattr(self.cls, item, None)
            if target is None or not callable(target):
                raise self.fail(f"{where} names {item!r}, which is not a method of the flow")
        elif not callable(item):
            raise self.fail(f"{where} has {item!r}, which is neither a method name nor callable")
        else:
            target = item
        self.is_async |= inspect.iscoroutinefunction(target)

    def transition(self, index: int, spec: Mapping[str, Any], states: set[str]) -> None:
        trigger = spec.get("trigger")
        where = f"transition #{index} ({trigger!r})"
        unknown = set(spec) - _TRANSITION_KEYS
        if unknown:
            raise self.fail(f"{where} has unknown keys {sorted(unknown)}")
        if not isinstance(trigger, str) or not trigger.isidentifier():
            raise self.fail(f"{where} needs a trigger name")
        for source in _as_list(spec.get("source")) or [None]:
            if source != "*" and source not in states:
                raise self.fail(f"{where} starts from unknown state {source!r}")
        dest = spec.get("dest")
        if dest is not None and dest != "=" and dest not in states:
            raise self.fail(f"{where} goes to unknown state {dest!r}")
        for key in _CALLBACK_KEYS:
            for item in _as_list(spec.get(key)):
                self.callback(f"{where} {key}", item)

    def hooks(self, states: set[str]) -> dict[str, list[str]]:
        hooks: dict[str, list[str]] = {}
        for attr in dir(self.cls):
            for kind in ("enter", "exit"):
                prefix = f"on_{kind}_"
                if attr.startswith(prefix):
                    state = attr[len(prefix) :]
                    if state not in states:
                        raise self.fail(f"method {attr!r} names unknown state {state!r}")
                    self.callback(f"state {state!r} on_{kind}", attr)
                    hooks.setdefault(state, []).append(attr)
        return hooks


def _triggers(specs: Iterable[Mapping[str, Any]], states: list[str]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for spec in specs:
        sources = _as_list(spec["source"])
        found.setdefault(spec["trigger"], set()).update(states if "*" in sources else sources)
    return {trigger: frozenset(sources) for trigger, sources in found.items()}


def _reachable(initial: str, specs: Iterable[Mapping[str, Any]], states: list[str]) -> set[str]:
    edges = [(_as_list(s["source"]), s.get("dest")) for s in specs]
    seen, todo = {initial}, [initial]
    while todo:
        state = todo.pop()
        for sources, dest in edges:
            if dest in (None, "=") or dest in seen:
                continue
            if "*" in sources or state in sources:
                seen.add(dest)
                todo.append(dest)
    return seen


def compile_flow(cls: type[Flow]) -> CompiledFlow:
    """Validate ``cls`` and build its shared machine; :class:`FlowDefinitionError` if wrong."""
    check = _Validator(cls)
    if not isinstance(getattr(cls, "name", None), str) or not cls.name:
        raise check.fail("needs a `name` (the name routes and the store use)")
    states = check.states()
    if cls.on_opt_in not in ("resume", "restart"):
        raise check.fail(f"on_opt_in must be 'resume' or 'restart', not {cls.on_opt_in!r}")
    specs = [dict(spec) for spec in cls.transitions]
    for index, spec in enumerate(specs):
        check.transition(index, spec, set(states))
    for problem in unknown_triggers(specs, fired_triggers(cls), dict(cls.timeouts)):
        raise check.fail(problem)
    hooks = check.hooks(set(states))
    unreachable = [s for s in states if s not in _reachable(cls.initial, specs, states)]
    if unreachable:
        raise check.fail(f"states {unreachable} cannot be reached from {cls.initial!r}")
    machine_cls: Callable[..., Machine] = AsyncMachine if check.is_async else Machine
    machine = machine_cls(
        model=None,
        states=states,
        initial=cls.initial,
        transitions=specs,
        auto_transitions=False,
        ignore_invalid_triggers=True,
    )
    for state, names in hooks.items():
        for name in names:
            machine.states[state].add_callback("enter" if "_enter_" in name else "exit", name)
    compiled = CompiledFlow(cls, machine, _triggers(specs, states))
    _check_timeouts(check, compiled, set(states))
    check_declaration(cls, check.flow, set(states), compiled.handles)
    version, migrations = MigrationCheck(cls, check.flow, states).run()
    shape = fingerprint(states, cls.initial, cls.final_states, specs, dict(cls.timeouts))
    return replace(
        compiled, version=version, shape=shape, migrations=migrations,
        state_names=frozenset(states), dispatch=dispatch_table(machine),
    )  # fmt: skip


def _check_timeouts(check: _Validator, flow: CompiledFlow, states: set[str]) -> None:
    for state, timeouts in dict(flow.cls.timeouts).items():
        if state not in states:
            raise check.fail(f"timeouts name unknown state {state!r}")
        for timeout in timeouts:
            if not isinstance(timeout, Timeout):
                raise check.fail(f"timeouts of {state!r} must be Timeout(...), got {timeout!r}")
            try:
                timeout.delay  # noqa: B018 - parsed here so a bad delay fails at registration
            except ValueError as exc:
                raise check.fail(f"timeout {timeout.trigger!r} of {state!r}: {exc}") from None
            if not flow.handles(timeout.trigger, state):
                raise check.fail(
                    f"timeout {timeout.trigger!r} of state {state!r} has no transition "
                    f"out of {state!r}"
                )
