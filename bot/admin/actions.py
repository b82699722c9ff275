"""Operator actions: each one goes through the engine's per-conversation lock, the store's
hold (PostgreSQL's advisory lock) and the version guard of a turn's commit, and is audited.

An action is a turn without an inbound message: it loads the conversation under the lock,
describes its change as a :class:`~storage.records.TurnWrite` (new version, state, data,
timers, outbox rows from the callbacks it ran) and commits it like any step: a commit that
finds the version moved (another process stepped it) is redone on the fresh state, and a
webhook for the same conversation waits for the lock, so nothing is lost or stepped twice.
``expected`` (the version the operator saw) turns "it changed since you looked" into
:class:`~bot.admin.errors.Stale` instead of applying the action to a state nobody saw.
The audit entry (operator, time, action, before, after) is part of the write
(``TurnWrite.audit``): the action and its entry commit in one transaction or not at all, so
a crash leaves no unaudited change, and a redone or refused commit leaves no entry.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from bot.admin.errors import Invalid, NotFound, Stale
from bot.admin.event import key_of, operator_event
from bot.engine.compose import compose, detach_replies
from bot.engine.engine import Engine
from bot.engine.outcomes import storable
from bot.engine.subflows import Settled, settle
from bot.errors import ConflictError, StoreError
from bot.flow.definition import CompiledFlow
from bot.flow.turn import Turn
from storage.admin_queries import AuditEntry, Runner, record_audit
from storage.protocols import Store
from storage.records import Conversation, Timer, TurnWrite

__all__ = ["Actions", "Change", "snapshot"]

log = logging.getLogger("switchboard.admin")

_MAX_CONFLICTS = 12

# What an action does to the stored conversation: a write, or raise an OperatorError.
Change = Callable[[Conversation], Awaitable[TurnWrite]]


def snapshot(c: Conversation) -> dict[str, Any]:
    """What the audit log keeps of a conversation before and after an action: the running
    flow's state and data, and its waiting callers (``calls``, outermost first)."""
    calls = [{"flow": f.get("flow"), "state": f.get("state")} for f in c.stack]
    return {"flow": c.flow, "state": c.state, "data": c.data, "version": c.version,
            "closed": c.closed, "calls": calls}  # fmt: skip


@dataclass(frozen=True)
class Actions:
    """The actions on one conversation's state, data and timers (see the module doc)."""

    engine: Engine
    store: Store
    runner: Runner
    changed: Callable[[], None] = lambda: None  # after every action (drops cached counts)

    async def audit(self, entry: AuditEntry) -> None:
        """Append an entry to the audit log on its own: for what changed nothing (a refused
        reply). An action that changes something writes its entry with its change."""
        self.changed()
        await self.runner.run(record_audit(self.runner.dialect, entry), atomic=False)

    async def apply(
        self, key: str, operator: str, action: str, change: Change,
        expected: int | None = None, target: str | None = None,
    ) -> Conversation:  # fmt: skip
        """Run ``change`` on conversation ``key`` under its lock, commit it, audit it."""
        engine = self.engine
        async with engine.locks.hold(key), self.store.hold(key):
            for _ in range(_MAX_CONFLICTS):
                stored = await self.store.conversation(key)
                if stored is None:
                    raise NotFound(f"no conversation {key!r}")
                if expected is not None and stored.version != expected:
                    raise Stale(
                        f"conversation {key!r} is at version {stored.version}, not {expected}: "
                        "it changed since you looked; reload and try again"
                    )
                write = await change(stored)
                # as the store now holds it: an engine step's conversation (a fired timer)
                # carries neither time, and the commit stamps write.at as updated_at
                after = (
                    replace(write.conversation, created_at=stored.created_at, updated_at=write.at)
                    if write.save_state
                    else stored
                )
                entry = AuditEntry(
                    write.at, operator, action, key, target, snapshot(stored), snapshot(after)
                )
                try:
                    earlier = await self.store.commit(replace(write, audit=entry))
                except ConflictError:
                    log.info("version conflict on %s during %s; redoing it", key, action)
                    continue
                if earlier is not None:  # its idempotency key was taken: nothing was written
                    raise Stale(f"{action} on {key!r} had already happened; nothing was changed")
                self.changed()
                if write.outbox:
                    engine.on_enqueued()
                log.info("operator %s: %s on %s (version %d)", operator, action, key, after.version)
                return after
        raise StoreError(f"conversation {key!r} kept changing under us; try again")

    def flow_of(self, stored: Conversation) -> CompiledFlow:
        flow = self.engine.flows.get(stored.flow)
        if flow is None:
            raise Invalid(f"flow {stored.flow!r} is not registered in this app")
        return flow

    async def restart(self, stored: Conversation, operator: str, *, enter: bool) -> TurnWrite:
        """The write of a reset: the *outermost* flow's initial state with empty data. Inside
        a subflow the call stack is dropped (the callers' paused timers with it) and every
        timer of the conversation is cancelled (``TurnWrite.clear_timers``: the child's
        too), as the engine's restart does; a child never restarts alone, without the
        arguments it was called with, under a caller still waiting."""
        if not stored.stack:
            outer: CompiledFlow | None = self.flow_of(stored)
        else:  # the running child need not be deployed: the outermost flow is what restarts
            outer = self.engine.flows.get(str(stored.stack[0].get("flow")))
        if outer is None:
            raise Invalid(
                f"the outermost flow {stored.stack[0].get('flow')!r} of {stored.key!r} is not "
                "registered in this app; end the conversation instead"
            )
        base = replace(
            stored, flow=outer.name, stack=(), flow_version=outer.version, flow_shape=outer.shape
        )
        write = await self.write(base, operator, state=outer.initial, data={}, enter=enter,
                                 fresh=True)  # fmt: skip
        return replace(write, clear_timers=write.clear_timers or bool(stored.stack))

    async def write(
        self, stored: Conversation, operator: str, *, state: str, data: dict[str, Any],
        enter: bool = False, fresh: bool = False, closed: bool | None = None,
        fired: Timer | None = None,
    ) -> TurnWrite:  # fmt: skip
        """The write that puts ``stored`` in ``state`` with ``data``; with ``enter``, the
        state's ``on_enter_<state>`` runs first (what it says is queued in the outbox, the
        timeouts it declares are set)."""
        flow = self.flow_of(stored)
        if state not in flow.cls.states:
            raise Invalid(f"flow {flow.name!r} has no state {state!r}; it has {flow.cls.states}")
        now, version = self.engine.clock.now(), stored.version + 1
        turn = Turn(
            operator_event(stored, operator), key_of(stored), flow.name, state, dict(data),
            self.engine.clock, step=version,
        )  # fmt: skip
        if enter:
            await _run_entry(flow, state, turn)
        settled = await self._settle(flow, turn, stored, state)  # a child put in a final state
        detach_replies(turn)  # what the caller said on the return goes through the outbox
        flow, state, fresh = settled.flow, settled.state, fresh or settled.switched
        try:
            storable(turn.data)
        except (TypeError, ValueError) as exc:
            raise Invalid(f"data cannot be stored: {exc}") from exc
        moved = fresh or state != stored.state
        out = compose(flow, turn, stored.state, state, fresh, now) if moved or enter else None
        is_closed = flow.is_final(state) if closed is None or settled.switched else closed
        conversation = replace(
            stored, flow=flow.name, state=state, data=turn.data, version=version,
            closed=is_closed, stack=settled.stack,
            flow_version=flow.version if settled.switched else stored.flow_version,
            flow_shape=flow.shape if settled.switched else stored.flow_shape,
        )  # fmt: skip
        return TurnWrite(
            conversation, settled.entries, (), "", now, outbox=out.outbox if out else (),
            timers=out.timers if out else (), fired=fired, moved=moved,
            clear_timers=settled.switched,
        )  # fmt: skip

    async def _settle(
        self, flow: CompiledFlow, turn: Turn, stored: Conversation, state: str
    ) -> Settled:
        """A subflow put in one of its final states returns to its caller, as in a step
        (``bot.engine.subflows``): the caller fires the outcome's trigger."""
        if not (stored.stack and flow.is_final(state)):
            return Settled(flow, state, stored.stack)
        reader = partial(self.store.timers, stored.key)
        try:
            return await settle(self.engine.flows, flow, turn, state, stored.stack, reader)
        except Exception as exc:
            log.exception("returning from subflow %r raised during an operator action", flow.name)
            raise Invalid(
                f"the return to the calling flow raised {type(exc).__name__}: {exc}"
            ) from exc


async def _run_entry(flow: CompiledFlow, state: str, turn: Turn) -> None:
    """Run ``on_enter_<state>``; a callback that raises refuses the action (nothing written)."""
    hook = getattr(flow.cls, f"on_enter_{state}", None)
    if hook is not None:
        try:
            result = hook(flow.cls(state), turn)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            log.exception("on_enter_%s raised during an operator action", state)
            raise Invalid(f"on_enter_{state} raised {type(exc).__name__}: {exc}") from exc
    detach_replies(turn)
