"""The :class:`Turn`: what a flow callback receives for one inbound event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.actions import Action, Message
from bot.clock import Clock
from bot.events import Channel, Event
from bot.routing import ConversationKey

__all__ = ["Turn"]


@dataclass(slots=True)
class Turn:
    """One step of one conversation.

    ``data`` is the conversation's JSON-serialisable dict: change it in place and it is saved
    with the new state, or thrown away if a callback raises. Reply helpers append
    :mod:`actions <bot.actions>` that are rendered as the webhook's TwiML answer.
    """

    event: Event
    key: ConversationKey
    flow: str
    state: str
    data: dict[str, Any]
    clock: Clock
    actions: list[Action] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        """The current time (the fake clock's in tests)."""
        return self.clock.now()

    @property
    def channel(self) -> Channel:
        return self.event.channel

    @property
    def caller(self) -> str:
        """The person's address (``+1…`` or ``whatsapp:+1…``)."""
        return self.event.from_

    @property
    def text(self) -> str:
        """The inbound message's text, stripped; ``""`` for events that carry none."""
        return self.event.text

    def say(self, text: str, *, media: Sequence[str] = ()) -> None:
        """Answer the person: a message (with optional media URLs) on messaging channels."""
        if len(media) > 10:
            raise ValueError("a message carries at most 10 media URLs")
        self.actions.append(Message(text, tuple(media)))

    def reply(self, action: Action) -> None:
        """Append any reply action (a TwiML verb) as it is."""
        self.actions.append(action)
