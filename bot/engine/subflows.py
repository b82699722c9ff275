"""Running subflows: the call stack of a conversation, pushed and popped within one step.

After a step's flow ran, :func:`settle` looks at where it ended: in a state that runs a
subflow, the caller's frame is pushed and the child entered (its ``on_enter`` runs in the
same turn, then its ``started`` trigger if it has one, to route on its arguments); in a
final state of a child, the frame is popped and the caller fires the trigger named after
the child's outcome, with ``turn.result``; a caller whose (migrated) state has no transition
for that outcome refuses the return and follows its flow's ``on_lost`` (it never waits on,
nor calls its child again). Both repeat (a child that calls another on
entering, a caller that ends on the result and returns in turn).

A frame is JSON (stored in ``conversations.stack``): the caller's flow, the state it waits
in, its data, its flow's version and shape, and its paused timers
(:mod:`bot.engine.subflow_timers`). On a return the frame is placed in its flow's running
version first (:mod:`bot.engine.frames`): the caller may have been redeployed meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.engine.frames import frame_entry, place_frame
from bot.engine.subflow_timers import TimerReader, dedupe, pause, resume
from bot.errors import FlowDefinitionError
from bot.flow.definition import CompiledFlow
from bot.flow.subflow import MAX_DEPTH, Result, calls_of, outcome_of
from bot.flow.turn import Turn
from bot.flow.versions import Lost
from storage.records import Conversation, Direction, LogEntry, Marker

__all__ = ["MASK", "Settled", "finish_log", "restart_flow", "settle"]

log = logging.getLogger("switchboard.subflows")

Frame = dict[str, Any]
MASK = "••••••"  # what the log shows for an inbound secret (a verification code)
_SECRET_META = ("digits", "speech")


@dataclass(slots=True)
class Settled:
    """Where a step really ended: the running flow, its state, the stack, and the
    ``called``/``returned`` log entries; ``switched`` when the running flow changed (then
    the conversation's stored timers were paused or cancelled: the write clears them)."""

    flow: CompiledFlow
    state: str
    stack: tuple[Frame, ...]
    switched: bool = False
    entries: list[LogEntry] = field(default_factory=list)
    read_timers: TimerReader | None = None


def restart_flow(
    flows: Mapping[str, CompiledFlow], flow: CompiledFlow, stored: Conversation | None
) -> CompiledFlow:
    """The flow a restart enters: the outermost caller's when a subflow was running."""
    if stored is None or not stored.stack or stored.flow != flow.name:
        return flow
    return flows.get(str(stored.stack[0].get("flow")), flow)


async def settle(
    flows: Mapping[str, CompiledFlow],
    flow: CompiledFlow,
    turn: Turn,
    state: str,
    stack: tuple[Frame, ...],
    timers: TimerReader | None = None,
) -> Settled:
    """Call and return until the step rests in a state that is neither (see module doc).

    ``timers`` reads the conversation's stored timers (the flow's that ran at load time);
    it is called at most once, on a call."""
    done = Settled(flow, state, stack, read_timers=timers)
    for _ in range(4 * MAX_DEPTH):
        if done.flow.cls.subflows and done.state in calls_of(done.flow.cls):
            await _call(flows, done, turn)
        elif done.stack and done.flow.is_final(done.state):
            await _return(flows, done, turn)
        else:
            if turn.called is not None:
                raise FlowDefinitionError(
                    f"flow {done.flow.name!r} called {turn.called.child!r} but ended the step "
                    f"in {done.state!r}, which runs no subflow"
                )
            if done.switched:
                dedupe(turn)
            return done
    raise FlowDefinitionError(f"flow {flow.name!r}: subflows call and return without rest")


async def _call(flows: Mapping[str, CompiledFlow], done: Settled, turn: Turn) -> None:
    parent, state = done.flow, done.state
    name = calls_of(parent.cls)[state]
    intent, turn.called = turn.called, None
    if intent is not None and intent.child != name:
        raise FlowDefinitionError(
            f"flow {parent.name!r} called {intent.child!r} in state {state!r}, which runs {name!r}"
        )
    if len(done.stack) >= MAX_DEPTH:
        raise FlowDefinitionError(f"flow {parent.name!r}: subflows nested deeper than {MAX_DEPTH}")
    child = flows[name]
    stored = await done.read_timers() if done.read_timers and not done.switched else []
    frame = {
        "flow": parent.name, "state": state, "data": turn.data,
        "version": parent.version, "shape": parent.shape,
        "timers": pause(stored, turn, parent.name, turn.now),
    }  # fmt: skip
    args = intent.args if intent else {}
    done.stack += (frame,)
    turn.flow, turn.state, turn.data = child.name, child.initial, dict(args)
    body = f"{parent.name} → {name}"
    done.entries.append(_entry(turn, Marker.CALLED, body, state, child.initial, {"args": args}))
    await child.enter(turn)
    state = child.initial
    if child.handles("started", state):  # a child may route on its arguments at once
        _, state = await child.fire("started", state, turn)
    done.flow, done.state, done.switched = child, state, True


async def _return(flows: Mapping[str, CompiledFlow], done: Settled, turn: Turn) -> None:
    child, final = done.flow, done.state
    *rest, frame = done.stack
    result = Result(child.name, outcome_of(child.cls, final), turn.data.get("result"))
    done.stack, done.switched = tuple(rest), True
    resume(frame, turn, child.name)
    parent = flows.get(str(frame["flow"]))
    if parent is None:
        _orphaned(done, turn, str(frame["flow"]))
        return
    placed = place_frame(parent, frame, turn.key, turn.now)
    meta = {"outcome": result.outcome.value, "from_state": final}
    body = f"{child.name} → {parent.name}: {result.outcome.value}"
    done.entries.append(_entry(turn, Marker.RETURNED, body, final, placed.state, meta))
    done.entries += placed.entries
    ended = turn.data
    turn.flow, turn.state, turn.data = parent.name, placed.state, placed.data
    turn.result = result
    lost = placed.lost
    if lost is None:
        moved, state = await parent.fire(result.outcome.value, placed.state, turn)
        if moved:
            done.flow, done.state = parent, state
            return
        lost = _refused(done, parent, turn, final)
    if lost is Lost.CLOSE:  # the conversation ends where the child ended
        done.stack = ()
        turn.timers.clear()
        turn.flow, turn.state, turn.data, turn.result = child.name, final, ended, None
        if parent.cls.lost_message:
            turn.say(parent.cls.lost_message)
        return
    done.flow, done.state = parent, await _place_lost(parent, lost, turn)


def _refused(done: Settled, parent: CompiledFlow, turn: Turn, final: str) -> Lost:
    """The caller's state (migrated, or placed by an older version) has no transition for
    the child's outcome: the return is refused, never left waiting or calling again, and the
    caller goes to its flow's ``on_lost``; a warning and a ``lost`` entry say so."""
    outcome, policy = turn.result.outcome.value if turn.result else "", parent.lost
    log.warning(
        "conversation %s: flow %r in state %r has no %r transition for the outcome of its "
        "subflow %r: the return is refused; policy %s",
        turn.key.id, parent.name, turn.state, outcome, done.flow.name, policy.value,
    )  # fmt: skip
    meta = {"flow": parent.name, "policy": policy.value, "caller": True, "outcome": outcome}
    body = f"caller state {turn.state!r} takes no {outcome!r} from {done.flow.name}: {policy}"
    done.entries.append(frame_entry(turn.key, Marker.LOST, body, turn.state, None, turn.now, meta))
    return policy


async def _place_lost(parent: CompiledFlow, lost: Lost, turn: Turn) -> str:
    """A caller that cannot take the return follows its flow's ``on_lost``: restart (after
    ``lost_message``), or its ``place_lost`` names the state."""
    if lost is Lost.RESTART:
        if parent.cls.lost_message:
            turn.say(parent.cls.lost_message)
        turn.data, turn.timers[:] = {}, []
        await parent.enter(turn)
        return parent.initial
    return await parent.place_lost(turn, turn.state)


def _orphaned(done: Settled, turn: Turn, caller: str) -> None:
    """The caller's flow is not registered any more: the conversation ends with the child."""
    log.warning(
        "conversation %s: subflow %r returned to flow %r, which this process does not run: "
        "the conversation ends in %r", turn.key.id, done.flow.name, caller, done.state,
    )  # fmt: skip
    done.stack = ()
    turn.timers.clear()
    meta = {"flow": caller, "policy": "flow_gone", "caller": True}
    body = f"caller flow {caller!r} is gone: ended in {done.flow.name} {done.state}"
    done.entries.append(frame_entry(turn.key, Marker.LOST, body, done.state, None, turn.now, meta))


def _entry(
    turn: Turn, kind: Marker, body: str, before: str, after: str, meta: Mapping[str, Any]
) -> LogEntry:
    now: datetime = turn.now
    return LogEntry(
        conversation=turn.key.id, direction=Direction.IN, kind=kind.value, body=body, at=now,
        channel=turn.key.channel.value, state_before=before, state_after=after,
        meta={"flow": turn.flow, **meta},
    )  # fmt: skip


def finish_log(turn: Turn, entries: list[LogEntry], settled: Settled) -> list[LogEntry]:
    """The step's log with its subflow markers, and the inbound text masked when a flow said
    it was a secret (``turn.masked``: a verification code is never stored)."""
    if turn.masked and entries and entries[0].direction is Direction.IN:
        first = entries[0]
        meta = {k: (MASK if k in _SECRET_META and v else v) for k, v in first.meta.items()}
        entries[0] = replace(first, body=MASK if first.body else "", meta=meta)
    return entries + settled.entries
