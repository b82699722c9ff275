"""Which flow answers an event, and which conversation it belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.events.model import Channel, Event, strip_channel

__all__ = ["ConversationKey", "key_for"]


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Identifies one conversation.

    A message thread is keyed by channel + our number + the person's address; a call by
    its CallSid (``thread`` holds it), with ``their`` still naming the caller.
    """

    channel: Channel
    ours: str
    their: str
    thread: str = ""
    # The key as stored: ``sms:+1ours:+1theirs`` or ``voice:CA…``. Built once: a turn reads
    # it about six times (lock, load, commit, log entries).
    id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.thread:
            key = f"{self.channel}:{self.thread}"
        else:
            key = f"{self.channel}:{strip_channel(self.ours)}:{strip_channel(self.their)}"
        object.__setattr__(self, "id", key)


def key_for(event: Event) -> ConversationKey:
    """The conversation an event belongs to."""
    if event.channel is Channel.VOICE:
        return ConversationKey(event.channel, event.to, event.from_, thread=event.sid)
    return ConversationKey(event.channel, event.to, event.from_)
