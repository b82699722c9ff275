"""Turn a step's outbound intents into what is stored with it: outbox rows and timers.

The engine calls :func:`detach_replies` before it screens a step's replies (an internal event,
a timer or a start, has nobody waiting for TwiML, so its ``say`` replies become outbox
sends), and :func:`compose` once the step's final state is known.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.events.internal import Started
from bot.events.model import Channel, InternalEvent, channel_of, strip_channel
from bot.flow.definition import CompiledFlow
from bot.flow.intents import SendIntent, Timeout
from bot.flow.turn import Turn
from bot.twiml.messaging import Message
from storage.records import OutboundMessage, Purpose, Timer

__all__ = ["Composed", "compose", "detach_replies", "new_message_id"]


_last_ns = 0


def new_message_id() -> str:
    """A fresh outbox id: ``OB`` + 32 hex digits, of which the first 16 are a time in
    nanoseconds that grows with every id this process makes, the rest random. A turn's
    messages share their ``due_at`` and ``created_at``: their ids keep the order the flow sent
    them in, which neither backend's claim returns on its own (the outbox worker sorts by it).
    """
    global _last_ns
    _last_ns = max(time.time_ns(), _last_ns + 1)
    return f"OB{_last_ns:016x}{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class Composed:
    """The rows stored with the turn."""

    outbox: list[OutboundMessage]
    timers: list[Timer]


def _wire(address: str, channel: str) -> str:
    """``address`` as it goes on the wire for ``channel`` (``whatsapp:`` prefix or none)."""
    bare = strip_channel(address)
    return "whatsapp:" + bare if channel == Channel.WHATSAPP else bare


def _row(turn: Turn, intent: SendIntent, flow: str, now: datetime) -> OutboundMessage:
    key = turn.key
    to = intent.to or key.their
    channel = channel_of(to) if intent.to else key.channel
    variables = json.dumps(dict(intent.content_variables)) if intent.content_variables else None
    return OutboundMessage(
        id=new_message_id(), channel=str(channel), ours=_wire(intent.from_ or key.ours, channel),
        theirs=to, body=intent.body, media=intent.media, due_at=now, created_at=now,
        content_sid=intent.content_sid, content_variables=variables, purpose=intent.purpose,
        template=intent.template,
        conversation=key.id if to == key.their else None, flow=flow,
    )  # fmt: skip


def _timeouts(flow: CompiledFlow, state: str) -> Sequence[Timeout]:
    declared = getattr(flow.cls, "timeouts", {}) or {}
    found: Sequence[Timeout] = declared.get(state, ())
    return found


def detach_replies(turn: Turn) -> None:
    """For an internal event (nobody waits for TwiML): its messages become outbox sends."""
    if not isinstance(turn.event, InternalEvent):
        return
    said = [a for a in turn.actions if isinstance(a, Message)]
    turn.actions[:] = [a for a in turn.actions if not isinstance(a, Message)]
    why = turn.event.purpose if isinstance(turn.event, Started) else Purpose.TIMER
    turn.sends[:0] = [SendIntent(m.body, media=m.media, purpose=why) for m in said]


def compose(
    flow: CompiledFlow, turn: Turn, before: str, after: str, fresh: bool, now: datetime
) -> Composed:
    """The outbox rows and timers of a saved step that went from ``before`` to ``after``."""
    outbox = [_row(turn, intent, flow.name, now) for intent in turn.sends]
    key = turn.key
    timers = [
        Timer(key.id, s.name, s.trigger, flow.name, key.channel.value, key.ours, key.their,
              now + s.delay, None if s.keep else after, s.payload)
        for s in turn.timers
    ]  # fmt: skip
    if fresh or after != before:
        timers += [
            Timer(key.id, f"{after}.{t.trigger}", t.trigger, flow.name, key.channel.value,
                  key.ours, key.their, now + t.delay, after)
            for t in _timeouts(flow, after)
        ]  # fmt: skip
    return Composed(outbox, timers)
