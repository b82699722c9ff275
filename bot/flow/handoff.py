"""What a conversation in hand-off carries: the :class:`Handoff` record, stored in its data.

A conversation is *in the hands of people* while its data holds the reserved key
:data:`KEY` (``"_handoff"``): then inbound messages are stored and shown to operators
instead of stepping the flow (``bot.engine.handoff``), and operators claim, answer and give
it back (``bot.admin.handoff``). Keeping the record in the conversation's own row means
every change to it is a versioned write of that conversation, under its lock: a claim, a
reply and a return are ordered like any two steps, and nothing else can drift apart from it.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "DEFAULT_HOLDING",
    "KEY",
    "TIMEOUT_TRIGGER",
    "Handoff",
    "Source",
    "Status",
    "current",
]

KEY = "_handoff"
TIMEOUT_TRIGGER = "handoff_timeout"  # the "nobody answered in N minutes" timer's trigger
DEFAULT_HOLDING = "Thanks, a person will get back to you here shortly."


class Status(StrEnum):
    """Where a hand-off is: waiting for an operator, or claimed by one."""

    WAITING = "waiting"
    CLAIMED = "claimed"


class Source(StrEnum):
    """Who handed the conversation off."""

    FLOW = "flow"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Handoff:
    """One hand-off: why, where the flow resumes, since when, who holds it.

    ``timeout_state`` (default ``resume``) is where the flow goes back to when nobody
    claimed it before ``deadline``."""

    id: str
    reason: str
    resume: str
    since: str  # ISO 8601 (UTC): the inbox sorts on it, oldest first
    source: Source = Source.FLOW
    status: Status = Status.WAITING
    operator: str | None = None
    claimed_at: str | None = None
    deadline: str | None = None
    timeout_state: str | None = None

    @classmethod
    def new(
        cls, reason: str, resume: str, now: datetime, *, source: Source = Source.FLOW,
        after: timedelta | None = None, timeout_state: str | None = None,
    ) -> Handoff:  # fmt: skip
        now = now.astimezone(UTC)  # one offset for every record: the inbox sorts the text
        deadline = (now + after).isoformat() if after is not None else None
        return cls(
            "HO" + uuid.uuid4().hex, reason, resume, now.isoformat(), source,
            deadline=deadline, timeout_state=timeout_state,
        )  # fmt: skip

    def claimed(self, operator: str, now: datetime) -> Handoff:
        at = now.astimezone(UTC).isoformat()
        return replace(self, status=Status.CLAIMED, operator=operator, claimed_at=at)

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Handoff:
        fields: dict[str, Any] = {k: raw.get(k) for k in cls.__dataclass_fields__}
        fields["source"] = Source(raw.get("source", Source.FLOW))
        fields["status"] = Status(raw.get("status", Status.WAITING))
        return cls(**fields)


def current(data: dict[str, Any]) -> Handoff | None:
    """The hand-off a conversation's data holds, if it is in the hands of people."""
    raw = data.get(KEY)
    return Handoff.from_json(raw) if isinstance(raw, dict) else None
