"""What a flow asks for beyond its TwiML answer: messages to send, timers to set.

:meth:`Turn.send <bot.turn.Turn.send>` records a :class:`SendIntent`,
:meth:`Turn.schedule <bot.turn.Turn.schedule>` a :class:`ScheduleIntent`; a flow declares
"wait for a reply, with timeouts" on a state with :class:`Timeout`. The engine turns them into
outbox rows and timers stored with the turn (see :mod:`bot.outbound.compose`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from storage.records import Purpose

__all__ = ["ScheduleIntent", "SendIntent", "Timeout", "parse_delay"]

_DELAY = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_delay(delay: timedelta | float | str) -> timedelta:
    """``timedelta``, seconds, or text like ``"2h"``, ``"1d 30m"``, ``"90s"``."""
    if isinstance(delay, timedelta):
        result = delay
    elif isinstance(delay, int | float):
        result = timedelta(seconds=delay)
    else:
        text = delay.replace(" ", "")
        found = _DELAY.findall(text)
        if not found or "".join(n + u for n, u in found) != text:
            raise ValueError(f"not a delay: {delay!r} (use e.g. '2h', '1d30m', '90s')")
        result = timedelta(**{_UNITS[u]: int(n) for n, u in found})
    if result <= timedelta(0):
        raise ValueError(f"a delay must be positive, got {delay!r}")
    return result


@dataclass(frozen=True, slots=True)
class SendIntent:
    """A message to send through the outbox (``to=None``: the person of this conversation)."""

    body: str = ""
    to: str | None = None
    from_: str | None = None
    media: tuple[str, ...] = ()
    content_sid: str | None = None
    content_variables: Mapping[str, str] | None = None
    template: str | None = None
    purpose: Purpose = Purpose.SEND


@dataclass(frozen=True, slots=True)
class ScheduleIntent:
    """Fire ``trigger`` after ``delay``; bound to the state the turn ends in unless ``keep``."""

    trigger: str
    delay: timedelta
    name: str
    keep: bool = False
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Timeout:
    """Declared on a state: fire ``trigger`` when the conversation has been in it ``after``.

    ``Timeout("2h", "no_reply")`` in ``timeouts = {"waiting": [...]}``: entering ``waiting``
    arms it, leaving ``waiting`` cancels it, a message handled inside ``waiting`` (an
    internal transition) leaves it running.
    """

    after: timedelta | float | str
    trigger: str

    @property
    def delay(self) -> timedelta:
        return parse_delay(self.after)
