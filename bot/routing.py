"""Which flow answers an event, and which conversation it belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import RoutingError
from bot.events import Channel, Event, strip_channel

__all__ = ["ConversationKey", "Router", "key_for"]


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


@dataclass
class Router:
    """Maps (channel, our number) to a flow name, with per-channel and global defaults.

    >>> router = Router(default="support")
    >>> router.add("+15550001111", "ivr", channel=Channel.VOICE)
    """

    default: str | None = None
    routes: dict[tuple[Channel | None, str], str] = field(default_factory=dict)
    channel_defaults: dict[Channel, str] = field(default_factory=dict)

    def add(self, number: str, flow: str, channel: Channel | None = None) -> None:
        """Route ``number`` (E.164, no channel prefix) on ``channel`` (or every channel)."""
        self.routes[(channel, strip_channel(number))] = flow

    def set_default(self, flow: str, channel: Channel | None = None) -> None:
        """The flow for numbers with no route of their own (on one channel or all)."""
        if channel is None:
            self.default = flow
        else:
            self.channel_defaults[channel] = flow

    def resolve(self, channel: Channel, to: str) -> str:
        """The flow name for a request to ``to`` on ``channel``; :class:`RoutingError` if none."""
        number = strip_channel(to)
        flow = (
            self.routes.get((channel, number))
            or self.routes.get((None, number))
            or self.channel_defaults.get(channel)
            or self.default
        )
        if flow is None:
            raise RoutingError(f"no flow is routed for {channel} number {number!r}")
        return flow

    def flow_names(self) -> set[str]:
        """Every flow name this router can answer with."""
        names = set(self.routes.values()) | set(self.channel_defaults.values())
        return names | ({self.default} if self.default else set())
