"""Operations: the one code path of every operator action and read (API, console and CLI).

Reads: :meth:`Operations.search` (list and search, paged), :meth:`Operations.show` (one
conversation with its timeline, timers, outbox, consent and window), :meth:`Operations.flows`
(each flow's states and transitions with per-state counts of open conversations), the audit
log and change marks for the live stream. Actions: move, edit data, reset, end, cancel or
fire a timer, retry or cancel an outbox message, opt in or out; see :mod:`bot.admin.actions`
for how they are kept safe next to live traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from bot.admin.actions import Actions
from bot.admin.errors import Invalid, NotFound, Stale
from bot.admin.event import key_of
from bot.admin.handoff import Handoffs
from bot.admin.views import Detail, FlowView, flow_view
from bot.engine.engine import Engine
from bot.events.internal import TimerFired
from bot.events.model import Channel, Params, strip_channel
from bot.flow.handoff import KEY as HANDOFF
from bot.outbound.timers import TimerRunner
from storage import admin_queries as Q
from storage.admin_queries import AuditEntry, Runner, Search, StateCount
from storage.programs import replace_consent
from storage.protocols import Store
from storage.records import (
    ConsentChange,
    ConsentSource,
    ConsentStatus,
    Conversation,
    OutboundMessage,
    OutboxStatus,
    Timer,
)

__all__ = ["Operations"]

DEFAULT_STUCK = timedelta(hours=1)
COUNTS_TTL = 2.0  # seconds the per-state counts are reused


@dataclass(frozen=True)
class Operations:
    """Everything an operator can see and do, built once by the runtime."""

    engine: Engine
    store: Store
    runner: Runner
    timers: TimerRunner
    wake_outbox: Callable[[], None]  # the outbox worker's wake
    counts_cache: dict[timedelta, tuple[float, list[StateCount]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def actions(self) -> Actions:
        return Actions(self.engine, self.store, self.runner, self.counts_cache.clear)

    @property
    def handoffs(self) -> Handoffs:
        """Hand-off: the inbox, take over, claim, reply, give back, close (issue 13)."""
        return Handoffs(self.actions)

    # -- reads --------------------------------------------------------------------------

    async def search(self, search: Search) -> list[Conversation]:
        """One page of conversations, newest first."""
        return await self.runner.run(Q.search(self.runner.dialect, search), atomic=False)

    async def conversation(self, key: str) -> Conversation:
        found = await self.store.conversation(key)
        if found is None:
            raise NotFound(f"no conversation {key!r}")
        return found

    async def show(self, key: str) -> Detail:
        """One conversation with everything an operator needs to understand it."""
        c = await self.conversation(key)
        d, run = self.runner.dialect, self.runner.run
        person = strip_channel(c.theirs)
        scope = self.engine.gate.scope(c.ours)
        consent = [x for x in await self.store.consent_history(person) if x.scope == scope]
        is_whatsapp = c.channel == Channel.WHATSAPP
        return Detail(
            conversation=c,
            log=await self.store.log(key),
            timers=await run(Q.conversation_timers(d, key), atomic=False),
            outbox=await run(Q.conversation_outbox(d, key), atomic=False),
            consent=consent,
            window=await run(Q.window(d, key), atomic=False) if is_whatsapp else None,
            audit=await run(Q.audit(d, key), atomic=False),
            flow=self.engine.flows.get(c.flow),
            timer_history=await run(Q.timer_history(d, key), atomic=False),
            flows=self.engine.flows,
        )

    async def flows(self, stuck: timedelta = DEFAULT_STUCK) -> list[FlowView]:
        """Every flow's states and transitions, with open (and idle) conversations per state.

        The counts scan every open conversation's index entry (0.5 s at a million on
        SQLite, docs/benchmarks.md), and every open console page asks for them when
        anything changes: they are reused for :data:`COUNTS_TTL` seconds."""
        taken, counts = self.counts_cache.get(stuck, (-COUNTS_TTL, []))
        if time.monotonic() - taken >= COUNTS_TTL:
            cutoff = self.engine.clock.now() - stuck
            program = Q.state_counts(self.runner.dialect, cutoff)
            counts = await self.runner.run(program, atomic=False)
            self.counts_cache[stuck] = (time.monotonic(), counts)
        return [flow_view(flow, counts) for flow in self.engine.flows.values()]

    async def audit(self, key: str | None = None, limit: int = 200) -> list[AuditEntry]:
        return await self.runner.run(Q.audit(self.runner.dialect, key, limit), atomic=False)

    async def change_mark(self, key: str | None = None) -> tuple[int, ...]:
        """Changes whenever what an operator sees of ``key`` (or of the list) changes."""
        return await self.runner.run(Q.change_mark(key), atomic=False)

    # -- actions on the conversation ----------------------------------------------------

    async def move(
        self, key: str, operator: str, state: str, *, run_callbacks: bool = False,
        expected: int | None = None,
    ) -> Conversation:  # fmt: skip
        """Put the conversation in ``state`` (reopened unless it is final); with
        ``run_callbacks`` its ``on_enter_<state>`` runs (what it says is sent)."""

        async def change(c: Conversation) -> Any:
            return await self.actions.write(c, operator, state=state, data=c.data,
                                            enter=run_callbacks)  # fmt: skip

        return await self.actions.apply(key, operator, "move", change, expected, target=state)

    async def edit_data(
        self, key: str, operator: str, data: dict[str, Any], *, expected: int | None = None
    ) -> Conversation:
        """Replace the conversation's data (state and timers stay). The framework's keys, those
        starting with ``_`` (the hand-off record ``_handoff``, a reprompt count), stay as
        stored: an edit may leave them out or send them unchanged, never add, change or remove
        one. A ``_handoff`` planted by an edit held the person's messages for operators with
        no hand-off in the inbox; it changes only through the hand-off actions."""
        if not isinstance(data, dict):
            raise Invalid("data must be a JSON object")

        async def change(c: Conversation) -> Any:
            kept = _edited(c.data, data)
            return await self.actions.write(c, operator, state=c.state, data=kept, closed=c.closed)

        return await self.actions.apply(key, operator, "edit_data", change, expected)

    async def reset(
        self, key: str, operator: str, *, run_callbacks: bool = False, expected: int | None = None
    ) -> Conversation:
        """Back to the initial state with empty data; its timers are cancelled. Inside a
        subflow, the whole conversation goes back: the outermost flow's initial state, the
        call stack dropped (:meth:`Actions.restart`)."""

        async def change(c: Conversation) -> Any:
            return await self.actions.restart(c, operator, enter=run_callbacks)

        return await self.actions.apply(key, operator, "reset", change, expected)

    async def end(self, key: str, operator: str, *, expected: int | None = None) -> Conversation:
        """Close the conversation where it is (its timers are cancelled); the person's next
        message starts it afresh."""

        async def change(c: Conversation) -> Any:
            if c.closed:
                raise Stale(f"conversation {key!r} has already ended")
            return await self.actions.write(c, operator, state=c.state, data=c.data, closed=True)

        return await self.actions.apply(key, operator, "end", change, expected)

    # -- timers -------------------------------------------------------------------------

    async def _timer(self, key: str, name: str) -> Timer:
        timers = await self.runner.run(
            Q.conversation_timers(self.runner.dialect, key), atomic=False
        )
        found = next((t for t in timers if t.name == name), None)
        if found is None:
            raise NotFound(f"conversation {key!r} has no pending timer {name!r}")
        return found

    async def cancel_timer(self, key: str, operator: str, name: str) -> Conversation:
        """Delete a pending timer, in a versioned write of its conversation."""

        async def change(c: Conversation) -> Any:
            timer = await self._timer(key, name)
            write = await self.actions.write(
                c, operator, state=c.state, data=c.data, closed=c.closed, fired=timer
            )
            return replace(write, dropped_by=operator)  # its history says "cancelled"

        return await self.actions.apply(key, operator, "cancel_timer", change, target=name)

    async def fire_timer(self, key: str, operator: str, name: str) -> Conversation:
        """Fire a pending timer now: the engine's step for it, as the timer runner would run
        it (its idempotency key too, so the runner cannot fire it again), committed with the
        audit entry under the conversation's lock."""

        async def change(c: Conversation) -> Any:
            timer = await self._timer(key, name)
            event = TimerFired(
                channel=Channel(timer.channel), from_=timer.theirs, to=timer.ours,
                params=Params(), timer=timer,
            )  # fmt: skip
            flow = self.engine.flow_for(event, c)
            if flow is None:
                raise Stale(f"timer {name!r} no longer applies: the conversation moved on")
            dedupe = (event.dedupe_key,) if event.dedupe_key else ()
            return await self.engine.step(flow, key_of(c), event, c, dedupe)

        return await self.actions.apply(key, operator, "fire_timer", change, target=name)

    # -- outbox and consent -------------------------------------------------------------

    async def _message(self, message_id: str) -> OutboundMessage:
        found = await self.store.outbox_message(message_id)
        if found is None:
            raise NotFound(f"no outbox message {message_id!r}")
        return found

    async def retry_outbox(self, message_id: str, operator: str) -> OutboundMessage:
        """Send a failed or blocked message again (the gate checks it again when sent)."""
        return await self._outbox(message_id, operator, "retry_outbox")

    async def cancel_outbox(self, message_id: str, operator: str) -> OutboundMessage:
        """Never send a message still waiting in the outbox."""
        return await self._outbox(message_id, operator, "cancel_outbox")

    async def _outbox(self, message_id: str, operator: str, action: str) -> OutboundMessage:
        message = await self._message(message_id)
        key = message.conversation or f"outbox:{message_id}"
        d, now = self.runner.dialect, self.engine.clock.now()
        async with self.engine.locks.hold(key):
            if action == "retry_outbox":
                statuses = (OutboxStatus.FAILED, OutboxStatus.BLOCKED)
                program = Q.retry_outbox(d, message_id, now, operator, statuses)
                wrong = "only a failed or blocked message can be retried"
            else:
                program = Q.cancel_outbox(d, message_id, now, operator)
                wrong = "only a pending message can be cancelled (a claimed one may be on its way)"

            def entry(row: OutboundMessage | None) -> AuditEntry:
                was = {"status": message.status, "error": message.error}
                now_is = {"status": row.status, "error": row.error} if row else {}
                return AuditEntry(now, operator, action, message.conversation, message_id, was,
                                  now_is)  # fmt: skip

            # the row's change and its audit entry in one transaction
            after = await self.runner.run(Q.audited(d, program, entry))
            if after is None:
                raise Stale(f"outbox message {message_id} is {message.status}: {wrong}")
            self.actions.changed()
        if action == "retry_outbox":
            self.wake_outbox()
        return after

    async def set_consent(self, key: str, operator: str, status: str) -> Conversation:
        """Opt the conversation's person in or out of our number's scope (source
        ``operator``, the operator named in the ledger's detail)."""
        try:
            wanted = ConsentStatus(status)
        except ValueError:
            raise Invalid("consent status must be 'opted_in' or 'opted_out'") from None
        c = await self.conversation(key)
        person, scope = strip_channel(c.theirs), self.engine.gate.scope(c.ours)
        now, d = self.engine.clock.now(), self.runner.dialect
        change = ConsentChange(
            person, scope, wanted, ConsentSource.OPERATOR, now, c.channel, f"operator {operator}"
        )

        def entry(was: str | None) -> AuditEntry:
            return AuditEntry(
                now, operator, "consent", key, scope, {"consent": was}, {"consent": wanted.value}
            )

        # Held as a turn holds the conversation (PostgreSQL: its advisory lock, across
        # processes), and the previous status read in the transaction that appends the change
        # and its audit entry: a STOP committing meanwhile is the `before`, or comes after.
        async with self.engine.locks.hold(key), self.store.hold(key):
            recorded = Q.audited(d, replace_consent(d, change), entry, always=True)
            await self.runner.run(recorded)
            self.actions.changed()
        return c


def _reserved(key: str) -> bool:
    return key.startswith("_")  # docs/flows.md: keys starting with _ are the framework's


def _edited(stored: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the framework's keys of ``stored`` kept; Invalid naming a key ``data``
    would add or change (it is checked against the stored row, under the conversation's lock)."""
    for name in sorted(k for k in data if _reserved(k)):
        if name in stored and data[name] == stored[name]:
            continue
        if name == HANDOFF:
            raise Invalid(
                f"data key {HANDOFF!r} is the hand-off record: it changes only through the "
                "hand-off actions (take over, claim, reply, return, close); leave it out of "
                "the data, or send it as it is stored"
            )
        raise Invalid(
            f"data key {name!r} is the framework's (keys starting with _ are): leave it out of "
            "the data, or send it as it is stored"
        )
    return {**data, **{k: v for k, v in stored.items() if _reserved(k)}}
