"""Small pieces of a step's outcome, apart from the engine's control flow: whether data can be
stored, what an apology is, how unhandled input and refused replies are recorded."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

from bot.compliance.gate import Admission
from bot.events.internal import TimerFired
from bot.events.keys import ConversationKey
from bot.events.model import Channel
from bot.flow.definition import CompiledFlow
from bot.flow.turn import Turn
from bot.twiml.messaging import Action, Message
from bot.twiml.voice import Hangup, Say
from storage.records import Contact, Direction, LogEntry

__all__ = ["apology_actions", "log_unhandled", "read_once", "refused_entry", "storable"]

log = logging.getLogger("switchboard.engine")
_STRICT = json.JSONEncoder(allow_nan=False)  # built once, not by every json.dumps call


def storable(data: object) -> None:
    """Raise unless ``data`` is JSON every backend stores alike.

    Not NaN or infinities (not JSON; PostgreSQL's jsonb refuses them) and no U+0000
    (PostgreSQL refuses it in text and jsonb), so a flow that puts them in its data fails
    its step on SQLite as on PostgreSQL, instead of the store failing with a 503.
    """
    text = _STRICT.encode(data)
    if "\\u0000" in text and _holds_nul(data):  # JSON always escapes U+0000 so; else no walk
        raise ValueError("conversation data cannot hold the character U+0000")


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


_NOTHING = {
    False: " (nothing answered: set unhandled_reply)",
    True: " (the caller hears the apology and the call ends: set unhandled_reply)",
}


def log_unhandled(flow: CompiledFlow, turn: Turn) -> None:
    """Nothing took the event: say so in the log, and answer with the flow's
    ``unhandled_reply`` when it is input the flow declares an answer for. A call's request
    (a ``<Gather>``'s, ``<Dial>``'s, ``<Record>``'s result, a redirect) left unanswered gets
    the apology from the engine: an empty answer would hang up on the caller in silence."""
    event = turn.event
    if event.is_input:
        log.warning(
            "unhandled %s in %s, flow %r state %r: %r matches no transition and the state has "
            "no 'invalid' one%s", event.kind, turn.key.id, flow.name, turn.state, event.text,
            "" if flow.cls.unhandled_reply else _NOTHING[turn.key.channel is Channel.VOICE],
        )  # fmt: skip
        if flow.cls.unhandled_reply:
            turn.say(flow.cls.unhandled_reply)
    elif turn.key.channel is Channel.VOICE and event.can_start:  # a request the call waits on
        log.warning(
            "unhandled %s in %s, flow %r state %r: no transition takes it; the caller hears "
            "the apology and the call ends", event.kind, turn.key.id, flow.name, turn.state,
        )  # fmt: skip
    elif isinstance(event, TimerFired):
        log.info("timer %s fired in %s, state %r: no transition takes %r",
                 event.sid, turn.key.id, turn.state, event.kind)  # fmt: skip


def apology_actions(channel: Channel, apology: str) -> list[Action]:
    """The apology as replies: a message, or said and then hung up on a call."""
    if channel is Channel.VOICE:
        return [Say(apology), Hangup()]
    return [Message(apology)]


def read_once(contacts: Sequence[Contact]) -> list[Contact]:
    """The contacts read from the store, each read result once (a person read twice with
    different heads keeps both: the commit then conflicts, as it should)."""
    if len(contacts) == 1:  # most turns: the person of the conversation alone
        return [contacts[0]] if contacts[0].head else []
    found = {(c.scope, c.person, c.window, c.head): c for c in contacts if c.head}
    return list(found.values())


def refused_entry(key: ConversationKey, refused: Admission, now: datetime) -> LogEntry:
    out = refused.outgoing
    return LogEntry(
        conversation=key.id, direction=Direction.OUT, kind="refused", body=out.body, at=now,
        channel=key.channel.value, media=out.media,
        meta={"reason": refused.reason or "", "to": out.theirs, "purpose": out.purpose},
    )  # fmt: skip
