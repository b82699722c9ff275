"""Operators and hand-off: take over, claim, reply, give back, close; and the inbox.

Each action is an :class:`~bot.admin.actions.Actions` write (the engine's lock, the store's
hold and version guard, an audit entry) that also appends an entry to the conversation's
log, so the timeline shows the hand-off, the claim, every reply and the return. A claim is
exclusive: it is a versioned write that only succeeds on a waiting hand-off, so of two
operators claiming at once one gets :class:`~bot.admin.errors.Stale`. Only the operator
who holds the claim may reply or give it back, and ``expected`` (the version they saw)
keeps a reply from overtaking something they have not seen. Replies are outbox rows: the
gate is asked first (an opted-out person or a closed WhatsApp window refuses a free-form
message at once, with :class:`~bot.admin.errors.Refused`, logged and audited) and the
outbox worker checks again when it sends, with its rate limits and retries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.admin.actions import Actions
from bot.admin.errors import Invalid, NotFound, Refused, Stale
from bot.admin.event import key_of, operator_event
from bot.compliance.gate import Outgoing
from bot.compliance.window import window_open
from bot.engine.compose import compose
from bot.engine.handoff import marker
from bot.events.model import Channel
from bot.flow.handoff import KEY, Handoff, Source, Status, current
from bot.flow.turn import Turn
from storage.admin_queries import AuditEntry
from storage.handoff_queries import inbox
from storage.records import Conversation, Direction, LogEntry, TurnWrite

__all__ = ["Handoffs"]

log = logging.getLogger("switchboard.handoff")


def _held(c: Conversation) -> Handoff:
    found = current(c.data) if not c.closed else None
    if found is None:
        raise Stale(f"conversation {c.key!r} is not in hand-off (it may have been returned)")
    return found


def _holder(c: Conversation, operator: str) -> Handoff:
    found = _held(c)
    if found.status is not Status.CLAIMED or found.operator != operator:
        who = found.operator or "nobody"
        raise Stale(f"conversation {c.key!r} is claimed by {who}, not you: claim it first")
    return found


@dataclass(frozen=True)
class Handoffs:
    """The hand-off actions (see the module doc); ``Operations.handoffs`` builds it."""

    actions: Actions

    async def inbox(self, limit: int = 200) -> list[Conversation]:
        """Conversations in the hands of people, the longest waiting first."""
        runner = self.actions.runner
        return await runner.run(inbox(runner.dialect, limit), atomic=False)

    async def reply_options(self, key: str) -> tuple[bool, list[str]]:
        """Whether a free-form reply may go now (WhatsApp's 24-hour window is open, or it is
        not WhatsApp), and the names of the templates configured for its number."""
        engine = self.actions.engine
        c = await self.actions.store.conversation(key)
        if c is None:
            raise NotFound(f"no conversation {key!r}")
        templates = sorted(engine.gate.compliance.policy(c.ours).templates)
        if c.channel != Channel.WHATSAPP:
            return True, templates
        contact = await engine.gate.contact(Channel(c.channel), c.ours, c.theirs)
        length = engine.gate.compliance.window
        return window_open(contact.last_inbound, engine.clock.now(), length), templates

    async def _mark(
        self, c: Conversation, operator: str, kind: str, body: str, data: dict[str, Any],
        *, state: str | None = None, enter: bool = False, closed: bool | None = None,
        meta: dict[str, Any] | None = None,
    ) -> TurnWrite:  # fmt: skip
        target = state or c.state
        write = await self.actions.write(
            c, operator, state=target, data=data, enter=enter, fresh=enter,
            closed=c.closed if closed is None else closed,
        )  # fmt: skip
        at = write.at
        entry = marker(
            c.key, c.channel, kind, body, target, at, {"operator": operator, **(meta or {})}
        )
        return replace(write, log=[entry, *write.log])  # then a subflow's return, if any

    async def take_over(
        self, key: str, operator: str, reason: str = "", *, expected: int | None = None
    ) -> Conversation:
        """Put an open conversation in the operator's hands (claimed by them)."""

        async def change(c: Conversation) -> TurnWrite:
            if c.closed or c.channel == Channel.VOICE:
                raise Invalid("only an open messaging conversation can be taken over")
            if current(c.data) is not None:
                raise Stale(f"conversation {key!r} is already in hand-off: claim it instead")
            now = self.actions.engine.clock.now()
            record = Handoff.new(reason or "taken over", c.state, now, source=Source.OPERATOR)
            record = record.claimed(operator, now)
            data = {**c.data, KEY: record.to_json()}
            meta = {"handoff": record.id, "resume": c.state, "source": "operator"}
            return await self._mark(c, operator, "handoff", record.reason, data, meta=meta)

        return await self.actions.apply(key, operator, "take_over", change, expected)

    async def claim(self, key: str, operator: str, *, expected: int | None = None) -> Conversation:
        """Claim a waiting hand-off (exclusive: a second claim is :class:`Stale`)."""

        async def change(c: Conversation) -> TurnWrite:
            found = _held(c)
            if found.status is Status.CLAIMED:
                raise Stale(f"conversation {key!r} is already claimed by {found.operator}")
            now = self.actions.engine.clock.now()
            data = {**c.data, KEY: found.claimed(operator, now).to_json()}
            return await self._mark(c, operator, "claimed", operator, data)

        return await self.actions.apply(key, operator, "claim", change, expected)

    async def reply(
        self, key: str, operator: str, text: str = "", *, media: Sequence[str] = (),
        template: str | None = None, expected: int | None = None,
    ) -> Conversation:  # fmt: skip
        """Send a message as the operator who holds the claim (gate first, then the outbox)."""
        if not (text.strip() or media):
            raise Invalid("a reply needs text or media")
        try:
            return await self.actions.apply(
                key, operator, "reply", self._reply(operator, text, media, template), expected
            )
        except Refused as exc:
            await self._refused(key, operator, text, exc)
            raise

    def _reply(self, operator: str, text: str, media: Sequence[str], template: str | None) -> Any:
        engine = self.actions.engine

        async def change(c: Conversation) -> TurnWrite:
            _holder(c, operator)
            flow = self.actions.flow_of(c)
            turn = Turn(
                operator_event(c, operator), key_of(c), flow.name, c.state, dict(c.data),
                engine.clock, step=c.version + 1,
            )  # fmt: skip
            turn.send(text, media=tuple(media), template=template)
            now = engine.clock.now()
            row = compose(flow, turn, c.state, c.state, False, now).outbox[0]
            outgoing = Outgoing(
                Channel(row.channel), row.ours, row.theirs, row.body, row.media,
                template=row.template, purpose=row.purpose,
            )  # fmt: skip
            verdict = await engine.gate.admit(outgoing, now)
            if not verdict.allowed:
                why = str(verdict.reason)
                raise Refused(f"the gate refused this message ({why}); nothing was sent", why)
            write = await self.actions.write(c, operator, state=c.state, data=c.data,
                                             closed=c.closed)  # fmt: skip
            entry = LogEntry(
                conversation=c.key, direction=Direction.OUT, kind="operator", body=text, at=now,
                channel=c.channel, media=tuple(media), state_after=c.state,
                meta={"operator": operator, "outbox": row.id},
            )  # fmt: skip
            return replace(write, log=[entry], outbox=[row])

        return change

    async def _refused(self, key: str, operator: str, text: str, exc: Refused) -> None:
        log.warning("operator %s reply on %s refused: %s", operator, key, exc.reason)
        now = self.actions.engine.clock.now()
        await self.actions.audit(AuditEntry(
            now, operator, "reply_refused", key, exc.reason, {"body": text}, {"sent": False}
        ))  # fmt: skip

    async def give_back(
        self, key: str, operator: str, state: str | None = None, *, expected: int | None = None
    ) -> Conversation:
        """Return the conversation to its flow at ``state`` (default: the hand-off's resume
        state), entering it as usual: its ``on_enter_<state>`` runs and its timeouts are
        armed afresh (those that came due during the hand-off were dropped). Inside a
        subflow the state is the child's; a final one returns to the caller at once."""

        async def change(c: Conversation) -> TurnWrite:
            found = _holder(c, operator)
            target = state or found.resume or c.state
            data = {k: v for k, v in c.data.items() if k != KEY}
            data["handoff_outcome"] = "returned"
            meta = {"handoff": found.id, "outcome": "returned"}
            return await self._mark(
                c, operator, "returned", "returned to flow", data, state=target, enter=True,
                meta=meta,
            )  # fmt: skip

        return await self.actions.apply(key, operator, "return", change, expected, target=state)

    async def close(self, key: str, operator: str, *, expected: int | None = None) -> Conversation:
        """End the hand-off and the conversation (the person's next message starts afresh)."""

        async def change(c: Conversation) -> TurnWrite:
            found = _holder(c, operator)
            data = {k: v for k, v in c.data.items() if k != KEY}
            meta = {"handoff": found.id, "outcome": "closed"}
            return await self._mark(c, operator, "closed", "closed by operator", data,
                                    closed=True, meta=meta)  # fmt: skip

        return await self.actions.apply(key, operator, "close", change, expected)
