"""The event an operator's action runs a flow's callbacks with (``on_enter_<state>``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.events.keys import ConversationKey
from bot.events.model import Channel, InternalEvent, Params
from storage.records import Conversation

__all__ = ["OperatorEvent", "key_of", "operator_event"]


@dataclass(frozen=True, slots=True)
class OperatorEvent(InternalEvent):
    """An operator moved or reset the conversation; nobody waits for TwiML, so what the
    callbacks say goes out through the outbox, like a timer's."""

    operator: str = ""

    @property
    def kind(self) -> str:
        return "operator"

    @property
    def sid(self) -> str:
        return ""

    @property
    def is_input(self) -> bool:
        return False

    def flow_name(self, flow: str | None, state: str | None, closed: bool) -> str | None:
        return flow


def key_of(c: Conversation) -> ConversationKey:
    """The key a stored conversation was written under (a call's is its CallSid)."""
    channel = Channel(c.channel)
    thread = c.key.partition(":")[2] if channel is Channel.VOICE else ""
    return ConversationKey(channel, c.ours, c.theirs, thread=thread)


def operator_event(c: Conversation, operator: str) -> OperatorEvent:
    """The event for an action on ``c``."""
    return OperatorEvent(Channel(c.channel), c.theirs, c.ours, Params(), operator=operator)
