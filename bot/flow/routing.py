"""Which flow answers an event: (channel, our number) → flow name."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import RoutingError
from bot.events.model import Channel, strip_channel

__all__ = ["Router"]


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
