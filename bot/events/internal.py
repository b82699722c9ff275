"""Internal events: a stored timer firing, and a conversation we start ourselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.events.model import InternalEvent
from storage.records import Timer

__all__ = ["Started", "TimerFired"]


@dataclass(frozen=True, slots=True)
class TimerFired(InternalEvent):
    """``timer`` is due: fire its trigger, if its conversation is still where it was set."""

    timer: Timer | None = None

    @property
    def kind(self) -> str:
        return self.timer.trigger if self.timer else "timer"

    @property
    def sid(self) -> str:
        return self.timer.id if self.timer else ""

    @property
    def dedupe_key(self) -> str | None:
        if self.timer is None:
            return None
        return f"timer:{self.timer.id}@{self.timer.due_at.isoformat()}"

    @property
    def log_meta(self) -> dict[str, str]:
        """The timer's name, so the log (and ``switchboard stats``) tells a timeout apart."""
        return {"timer": self.timer.name} if self.timer else {}

    def flow_name(self, flow: str | None, state: str | None, closed: bool) -> str | None:
        timer = self.timer
        if timer is None or flow != timer.flow or closed:
            return None
        if timer.state is not None and state != timer.state:
            return None
        return flow


@dataclass(frozen=True, slots=True)
class Started(InternalEvent):
    """Start ``flow`` with a person (a notification, a reminder, a campaign), afresh."""

    flow: str = ""
    start_id: str | None = None
    restart: bool = field(default=True, kw_only=True)

    @property
    def kind(self) -> str:
        return "start"

    @property
    def sid(self) -> str:
        return self.start_id or ""

    @property
    def dedupe_key(self) -> str | None:
        return f"start:{self.start_id}" if self.start_id else None

    def flow_name(self, flow: str | None, state: str | None, closed: bool) -> str | None:
        return self.flow
