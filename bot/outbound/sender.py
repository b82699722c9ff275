"""The port to the outside world: what the outbox worker needs from whatever sends messages.

:class:`~bot.outbound.rest.TwilioRest` implements it over Twilio's REST API with the real
``twilio`` client; the composition root (``bot.runtime``) builds it and hands it to the worker,
the only caller, so every message that leaves has passed the gate at send time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["Created", "Found", "Sender"]


@dataclass(frozen=True, slots=True)
class Created:
    """What Twilio answered to a create: the resource's sid, status and segment count."""

    sid: str
    status: str
    segments: int | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """A message Twilio holds, as a lookup lists it."""

    sid: str
    body: str
    created: datetime


class Sender(Protocol):
    """Sends one message, finds one already sent, and lets go of its connections."""

    async def create_message(
        self,
        *,
        to: str,
        from_: str,
        body: str = "",
        media: Sequence[str] = (),
        content_sid: str | None = None,
        content_variables: str | None = None,
        status_callback: str | None = None,
    ) -> Created:
        """Send one message; :class:`~bot.errors.RestError` if refused or unreachable."""
        ...

    async def sent_since(self, *, to: str, from_: str, since: datetime) -> list[Found]:
        """Every message to ``to`` from ``from_`` created at ``since`` or later (all pages,
        newest first, until one is older than ``since``)."""
        ...

    async def close(self) -> None:
        """Release connections; safe to call twice."""
        ...
