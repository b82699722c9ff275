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
from bot.voice.replies import VoiceReplies
from bot.voice.verbs import Say
from storage.base import Conversation

__all__ = ["Turn"]


@dataclass(slots=True)
class Turn(VoiceReplies):
    """One step of one conversation.

    ``data`` is the conversation's JSON-serialisable dict: change it in place and it is saved
    with the new state, or thrown away if a callback raises. Reply helpers append
    :mod:`actions <bot.actions>` that are rendered as the webhook's TwiML answer; voice
    verbs (``gather``, ``play``, ``record``, ``dial``, ...) come from
    :class:`~bot.voice.replies.VoiceReplies`.

    ``step`` is this step's number in its conversation (the version it commits); ``history``
    holds the caller's most recent earlier conversations when a call starts.
    """

    event: Event
    key: ConversationKey
    flow: str
    state: str
    data: dict[str, Any]
    clock: Clock
    actions: list[Action] = field(default_factory=list)
    step: int = 0
    history: Sequence[Conversation] = ()

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
        return self.event.from_ or self.key.their

    @property
    def text(self) -> str:
        """The inbound message's text, stripped; ``""`` for events that carry none."""
        return self.event.text

    def say(
        self,
        text: str,
        *,
        media: Sequence[str] = (),
        voice: str | None = None,
        language: str | None = None,
        loop: int | None = None,
    ) -> None:
        """Answer the person: a message (with optional media URLs) on messaging channels,
        ``<Say>`` on a call (``voice``, ``language`` and ``loop`` apply to calls only)."""
        if self.channel is Channel.VOICE:
            if media:
                raise ValueError("a call cannot carry media; use turn.play(url)")
            self.actions.append(Say(text, voice, language, loop))
            return
        if len(media) > 10:
            raise ValueError("a message carries at most 10 media URLs")
        self.actions.append(Message(text, tuple(media)))

    def reply(self, action: Action) -> None:
        """Append any reply action (a TwiML verb) as it is."""
        self.actions.append(action)
