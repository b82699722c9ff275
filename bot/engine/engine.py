"""The engine: one inbound event → one step of its conversation, stored, rendered.

Order of work (see docs/architecture.md): route → take the conversation's lock → load (one
hop: a stored response for a duplicate, else the conversation) → global transitions (consent
keywords, WhatsApp window: ``bot.consent``) → run the flow → pass every reply through the
outbound gate (``bot.gate``; refused replies are logged, not sent) → commit state, data,
version, message log, idempotency records, consent changes and window in one transaction →
render TwiML.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from bot.clock import Clock, SystemClock
from bot.compliance.consent import Inbound, before_flow
from bot.compliance.gate import Admission, Gate, Reason
from bot.engine.compose import compose, detach_replies
from bot.engine.handoff import Hold, held_by, hold_for, markers, resume_on_timeout
from bot.engine.locks import Both, KeyedLocks
from bot.engine.outcomes import (
    apology_actions,
    log_unhandled,
    read_once,
    refused_entry,
    storable,
)
from bot.engine.placement import Placed, place_for_step
from bot.engine.replays import check_replay
from bot.engine.subflows import Settled, finish_log, restart_flow, settle
from bot.errors import ConflictError, StoreError
from bot.events.internal import TimerFired
from bot.events.keys import ConversationKey, key_for
from bot.events.messaging import InboundMessage
from bot.events.model import Channel, Event, InternalEvent
from bot.flow.definition import CompiledFlow
from bot.flow.routing import Router
from bot.flow.turn import Turn
from bot.flow.verification import Verifier
from bot.flow.versions import Lost
from bot.observe.hooks import Observer, Outcome
from bot.twiml.messaging import Action, Message, parse_answer
from bot.twiml.render import EMPTY, Node, render
from bot.twiml.rules import check_answer
from bot.twiml.voice import Hangup
from storage.protocols import TurnStore
from storage.records import Contact, Conversation, Direction, LogEntry, Purpose, TurnWrite

__all__ = ["DEFAULT_APOLOGY", "Engine", "apology_actions"]  # the last from .outcomes

log = logging.getLogger("switchboard.engine")

DEFAULT_APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment."
_MAX_CONFLICTS = 12
_BACKOFF_CAP_S = 0.05


def _nothing() -> None:
    """The default ``on_enqueued``: no outbox worker to wake."""


@dataclass(frozen=True)
class Engine:
    """Runs flows for events. Built once (``bot.runtime``); safe to share across requests.

    ``gate`` screens every reply (and carries the compliance configuration);
    ``on_enqueued`` is called after a commit that put messages in the outbox (the runtime
    wakes its outbox worker with it); ``observer`` is told about every turn: its phases
    (lock, load, flow, commit), what it committed and how it ended (``bot.observe``).
    """

    store: TurnStore
    flows: Mapping[str, CompiledFlow]
    router: Router
    gate: Gate
    clock: Clock = field(default_factory=SystemClock)
    apology: str = DEFAULT_APOLOGY
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    on_enqueued: Callable[[], None] = _nothing
    verifier: Verifier | None = None  # turn.verify (bot.outbound.verify)
    observer: Observer = field(default_factory=Observer)

    def flow_for(self, event: Event, stored: Conversation | None = None) -> CompiledFlow | None:
        """The flow that takes ``event``: an open conversation's own, else the routed one.

        An open conversation keeps its flow even when its number routes elsewhere: a reply
        to a proactive message continues the flow that sent it. An internal event names its
        flow itself, or ``None`` when it has nothing to do any more.
        """
        if isinstance(event, InternalEvent):
            args = (stored.flow, stored.state, stored.closed) if stored else (None, None, True)
            name = event.flow_name(*args)
            return self.flows.get(name) if name else None
        if stored is not None and not stored.closed and stored.flow in self.flows:
            return self.flows[stored.flow]
        return self.flows[self.router.resolve(event.channel, event.to)]

    def _flow_of(self, event: Event, stored: Conversation | None) -> CompiledFlow | None:
        """The routed flow; for an event that cannot start a conversation, the stored one."""
        if event.can_start or isinstance(event, InternalEvent):
            return self.flow_for(event, stored)
        flow = self.flows.get(stored.flow) if stored is not None else None
        if flow is None:
            log.info("ignored %s for unknown conversation (sid %s)", event.kind, event.sid)
        return flow

    async def handle(self, event: Event, token: str | None = None) -> str:
        """Apply ``event`` once and return the TwiML answer (the stored one for a duplicate).

        An event that cannot start a conversation (a status callback) for one we never had
        changes nothing and gets an empty answer.
        """
        key = key_for(event)
        # Twilio does not sign the idempotency token: it only counts together with the
        # conversation and id of the request it came with, never as another request's key.
        bound = token and f"token:{key.id}:{event.sid}:{token}"
        idem = [k for k in (event.dedupe_key, bound) if k]
        with self.observer.turn(key.id, event) as probe:
            held = (self.locks.hold(key.id), self.store.hold(key.id), probe.phase("lock"))
            async with Both(*held):
                for attempt in range(_MAX_CONFLICTS):
                    with probe.phase("load"):
                        loaded = await self.store.load(key.id, idem)
                    if loaded.response is not None:
                        probe.finish(Outcome.DUPLICATE)
                        await check_replay(self.store, key, event)  # only for duplicates
                        return await self._replayed(loaded.response, key)
                    stored = loaded.conversation
                    flow = self._flow_of(event, stored)
                    if flow is None:
                        probe.finish(Outcome.IGNORED)
                        return EMPTY
                    if stored is not None and not key.ours:  # callbacks without From/To
                        key = replace(key, ours=stored.ours, their=stored.theirs)
                    with probe.phase("flow"):
                        write = await self.step(flow, key, event, stored, idem)
                    try:
                        with probe.phase("commit"):
                            earlier = await self.store.commit(write)
                    except ConflictError:
                        # Another process advanced it: load again and redo the step on that state.
                        log.info("version conflict on %s; redoing the step", key.id)
                        probe.conflict()
                        # Jittered backoff, so two processes racing on one conversation stop
                        # colliding in lockstep.
                        await asyncio.sleep(
                            random.uniform(0, min(_BACKOFF_CAP_S, 0.001 * 2**attempt))
                        )
                        continue
                    if write.outbox:
                        self.on_enqueued()
                    await probe.committed(stored, write)
                    if earlier is not None:  # another process recorded this delivery first
                        await check_replay(self.store, key, event)
                    return write.response if earlier is None else earlier
            raise StoreError(f"conversation {key.id!r} kept changing under us; giving up")

    async def step(
        self,
        flow: CompiledFlow,
        key: ConversationKey,
        event: Event,
        stored: Conversation | None,
        idem: Sequence[str],
    ) -> TurnWrite:
        """Run the flow for one event and describe what to write (nothing is written here)."""
        now = self.clock.now()
        internal = isinstance(event, InternalEvent)
        placed = place_for_step(flow, key, stored, event, now, self.flows)  # migrated
        stored, lost = placed.stored if placed else stored, placed.lost if placed else None
        owner = restart_flow(self.flows, flow, stored)  # in a subflow: the outermost's on_opt_in
        inbound = await self._before_flow(owner, key, event, now)
        hold, was = hold_for(stored, event), held_by(stored)  # in hand-off: the flow does not run
        # A call is one conversation, keyed by its CallSid: once it is over, a late request
        # about it (a <Gather> result posted after the hangup's status callback) neither runs
        # the flow nor starts the call again; it is logged and answered with <Hangup/>.
        over = (
            stored is not None and stored.closed and event.can_start and not internal
            and key.channel is Channel.VOICE
        )  # fmt: skip
        reopen = stored is not None and stored.closed and event.can_start and not over
        fresh = inbound.restart or stored is None or reopen or stored.flow != flow.name
        fresh = fresh or (isinstance(event, InternalEvent) and event.restart)
        fresh = fresh or lost is Lost.RESTART
        flow = restart_flow(self.flows, flow, stored) if fresh else flow  # the outermost caller
        stack = () if fresh or stored is None else stored.stack
        state = flow.initial if fresh or stored is None else stored.state
        if fresh or stored is None:
            data = dict(event.seed) if isinstance(event, InternalEvent) else {}
        else:
            data = stored.data
        version = (stored.version if stored else 0) + 1
        turn = Turn(event, key, flow.name, state, data, self.clock, step=version)
        turn.verify = self.verifier
        run = (inbound.run_flow or inbound.restart) and placed is not None
        run = run and lost is not Lost.CLOSE and hold is not Hold.HELD and not over
        # A call that ended is closed even when its flow raises: keep the data it had (and a
        # migrated conversation keeps its migration).
        keep = event.ends_conversation or (placed is not None and placed.migrated)
        before = json.dumps(data) if keep else None
        settled = Settled(flow, state, stack)
        try:
            if run and fresh and key.thread:
                turn.history = await self._history(key)
            if lost in (Lost.RESTART, Lost.CLOSE) and flow.cls.lost_message and inbound.run_flow:
                turn.say(flow.cls.lost_message)
            new_state = await self._run(flow, turn, fresh, placed, hold) if run else state
            if run:  # call a subflow the step entered, or return a finished one
                timers = partial(self.store.timers, key.id)  # read only if a child is called
                settled = await settle(self.flows, flow, turn, new_state, stack, timers)
            storable(turn.data)  # refuse data that cannot be stored, as a flow error
            if not internal:  # verbs the channel's answer cannot carry fail the step here
                check_answer((a.node() for a in turn.actions), voice=key.channel is Channel.VOICE)
            saved = ran = run
        except Exception:
            log.exception(
                "flow %r raised in state %r; step rolled back (conversation %s, sid %s)",
                flow.name,
                state,
                key.id,
                event.sid,
            )
            self.observer.note(Outcome.FLOW_ERROR)
            turn.actions[:] = self.apologise(event.channel)
            new_state, saved, ran = state, False, False
            settled = Settled(flow, state, stack)
            if before is not None:
                turn.data, saved = json.loads(before), True
        if placed is None:  # a migration's data upgrade raised: nothing is written
            turn.actions[:] = self.apologise(event.channel)
        if over:
            log.info("call %s is over: its %s request is answered with <Hangup/>, the flow "
                     "not run (conversation %s)", event.sid, event.kind, key.id)  # fmt: skip
            turn.actions[:] = [Hangup()]
        saved = saved or (lost is Lost.CLOSE and inbound.run_flow)
        flow, new_state = settled.flow, settled.state
        if internal and not ran:
            turn.actions[:] = []  # nobody to apologise to
        detach_replies(turn)
        read = [inbound.contact]  # the contacts the replies are decided on: checked at commit
        screened = await self._screen(flow, turn, inbound, new_state, saved, read)
        actions, refused, new_state = screened
        for admission in refused:  # kept in the message log too (refused_entry)
            log.info("reply to %s in %s not sent: %s (message %s)",
                     admission.outgoing.theirs, key.id, admission.reason, event.sid)  # fmt: skip
        # A migration that renamed the state moves it for the timers: those bound to the old
        # name go, and the new state's timeouts are armed afresh.
        origin = placed.old_state or state if placed and placed.migrated else state
        switched = fresh or settled.switched
        out = compose(flow, turn, origin, new_state, switched, now) if saved and ran else None
        closed = flow.is_final(new_state) or event.ends_conversation or lost is Lost.CLOSE
        if stored is not None and stored.closed and not fresh:
            closed = True  # a late callback about a call that is over does not reopen it
        conversation = Conversation(
            key=key.id, flow=flow.name, state=new_state, data=turn.data, version=version,
            channel=key.channel.value, ours=key.ours, theirs=key.their, closed=closed,
            flow_version=flow.version, flow_shape=flow.shape, stack=settled.stack,
        )  # fmt: skip
        nodes = [action.node() for action in actions]  # built once: the answer and the log
        response = render(nodes)
        meta = {**event.log_meta, **inbound.meta}
        if hold is not None:
            meta["handoff"] = hold.value
        replies = zip(actions, nodes, strict=True)
        entries = self._log(key, event, meta, replies, state, new_state, now)
        if refused:
            entries += [refused_entry(key, r, now) for r in refused]
        entries += markers(was, turn.data if saved else None, key, new_state, now)
        if placed and placed.entries:
            entries[:0] = placed.entries
        entries = finish_log(turn, entries, settled)  # subflow markers; a code masked
        touch = key.channel is Channel.WHATSAPP and isinstance(event, InboundMessage)
        return TurnWrite(
            conversation, entries, idem, response, now, save_state=saved,
            consent=inbound.changes, touch_window=touch,
            outbox=out.outbox if out else (), timers=out.timers if out else (),
            fired=event.timer if isinstance(event, TimerFired) else None,
            moved=switched or new_state != origin,
            contacts=read_once(read),
            # a call or a return; or a restart dropping a call stack (the child's timers go)
            clear_timers=settled.switched or (fresh and stored is not None and bool(stored.stack)),
        )  # fmt: skip

    async def _before_flow(
        self, flow: CompiledFlow, key: ConversationKey, event: Event, now: datetime
    ) -> Inbound:
        """The global transitions: consent keywords, window bookkeeping (``compliance.consent``)."""
        if isinstance(event, InboundMessage):
            gate = self.gate
            return await before_flow(
                gate.store, gate.compliance, event, key, now, flow.cls.on_opt_in
            )
        if key.channel is Channel.VOICE:
            return Inbound(Contact())
        return Inbound(await self.gate.contact(key.channel, key.ours, key.their))

    async def _screen(
        self,
        flow: CompiledFlow,
        turn: Turn,
        inbound: Inbound,
        state: str,
        ran: bool,
        read: list[Contact],
    ) -> tuple[list[Action], list[Admission], str]:
        """Every reply through the gate: (sent, refused, state after any ``window_closed``).

        A reply refused for a closed WhatsApp window fires the flow's ``window_closed``
        trigger, when the step ran and the flow handles it in ``state``; what that answers
        is screened too. If its callback raises, its changes are dropped and logged. Other
        people's contacts read for ``to=`` replies are appended to ``read``.
        """
        now, key, contact, gate = turn.now, turn.key, inbound.contact, self.gate
        answers: list[Action] = []
        refused: list[Admission] = []
        if inbound.replies:  # a consent keyword's answer
            answers, refused = await gate.screen(
                inbound.replies, key, contact, now, Purpose.CONSENT, read
            )
        kept, more = await gate.screen(turn.actions, key, contact, now, read=read)
        refused += more
        if not (ran and any(r.reason is Reason.WINDOW_CLOSED for r in more)):
            return answers + kept, refused, state
        if not flow.handles("window_closed", state):
            return answers + kept, refused, state
        before, turn.actions[:] = json.dumps(turn.data), []
        try:
            _, moved = await flow.fire("window_closed", state, turn)
            storable(turn.data)
            state = moved  # only once its data proved storable: a failure keeps the old state
        except Exception:
            log.exception("flow %r raised on window_closed in state %r", flow.name, state)
            turn.data, turn.actions[:] = json.loads(before), []
        extra, more = await gate.screen(turn.actions, key, contact, now, read=read)
        return answers + kept + extra, refused + more, state

    async def _replayed(self, response: str, key: ConversationKey) -> str:
        """A stored answer sent again, as consent and the window allow *now*: Twilio's retry
        of a message answered before the person's STOP must not deliver that answer after it.
        Screened as a consent answer, so a replayed STOP confirmation still goes."""
        if key.channel is Channel.VOICE or "<Message" not in response:
            return response
        contact = await self.gate.contact(key.channel, key.ours, key.their)
        now, answer = self.clock.now(), parse_answer(response)
        kept, refused = await self.gate.screen(answer, key, contact, now, Purpose.CONSENT)
        for refusal in refused:
            log.info("stored answer to %s in %s not sent again: %s", refusal.outgoing.theirs,
                     key.id, refusal.reason)  # fmt: skip
        return render(action.node() for action in kept) if refused else response

    async def _run(
        self, flow: CompiledFlow, turn: Turn, fresh: bool, placed: Placed | None = None,
        hold: Hold | None = None,
    ) -> str:  # fmt: skip
        if hold is Hold.TIMEOUT:
            return await resume_on_timeout(flow, turn)
        if placed is not None and placed.lost is Lost.HANDLER and not fresh:
            return await flow.place_lost(turn, placed.old_state or "")
        if fresh:
            await flow.enter(turn)
            return flow.initial
        done, state = await flow.fire(turn.event.kind, turn.state, turn)
        if not done and turn.event.is_input:
            self.observer.unhandled(flow.name, turn.state, turn.event.kind)
            done, state = await flow.fire("invalid", turn.state, turn)
        if not done:
            log_unhandled(flow, turn)
            voice = turn.key.channel is Channel.VOICE and turn.event.can_start
            if voice and not turn.actions:  # never a silent hang-up: the caller hears why
                turn.actions[:] = self.apologise(Channel.VOICE)
        return state

    async def _history(self, key: ConversationKey) -> list[Conversation]:
        """The caller's most recent earlier conversations (a new call starts knowing them).

        Only for real numbers: a withheld caller ID (``anonymous``) is not one person."""
        if not key.their.startswith("+"):
            return []
        return await self.store.history(key.their, exclude=key.id)

    def render_call(self, actions: Sequence[Action]) -> str:
        """TwiML for a call outside a flow step (the holding prompt, the apology after it).

        Voice verbs only: the gate passes them unchanged, and a message must go through a step.
        """
        if any(isinstance(action, Message) for action in actions):
            raise TypeError("render_call takes voice verbs only; messages go through a step")
        return render(action.node() for action in actions)

    def apologise(self, channel: Channel) -> list[Action]:
        """What the caller gets when a flow callback raises (said, then hung up on a call)."""
        return apology_actions(channel, self.apology)

    @staticmethod
    def _log(
        key: ConversationKey,
        event: Event,
        meta: dict[str, str],
        replies: Iterable[tuple[Action, Node]],
        before: str,
        after: str,
        now: datetime,
    ) -> list[LogEntry]:
        media = (
            tuple([m.url for m in event.media])
            if isinstance(event, InboundMessage) and event.media
            else ()
        )
        conversation, channel = key.id, key.channel.value
        entries = [
            LogEntry(
                conversation, Direction.IN, event.kind, event.text, now, event.sid, channel,
                media, before, after, meta,
            )
        ]  # fmt: skip
        for action, node in replies:
            out = LogEntry(
                conversation, Direction.OUT, node.tag.lower(), action.summary(), now, None,
                channel, tuple(getattr(action, "media", ())), None, after, {},
            )  # fmt: skip
            entries.append(out)
        return entries
