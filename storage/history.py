"""What operators read back about a conversation beside its message log: the audit log of
their own actions and the history of its timers (set, fired, cancelled).

Both are written by the commit of the turn or action they describe, in its transaction
(``TurnWrite.audit``; a turn's timers), so an action is never stored without its audit entry,
nor a timer set or dropped without its history. Read by :mod:`storage.admin_queries`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["AuditEntry", "TimerChange", "TimerEvent"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One operator action: who, when, what, on which conversation or row, before and after."""

    at: datetime
    operator: str
    action: str
    conversation: str | None
    target: str | None = None
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    id: int = 0


class TimerEvent(StrEnum):
    """What happened to a timer."""

    SET = "set"  # armed (or re-armed under the same name) by a turn or an operator's move
    FIRED = "fired"  # its turn ran (or was rolled back: it does not fire again)
    CANCELLED = "cancelled"  # its conversation left the state it was bound to, closed, or
    # an operator cancelled it


@dataclass(frozen=True, slots=True)
class TimerChange:
    """One entry of a conversation's timer history."""

    at: datetime
    event: TimerEvent
    name: str
    trigger: str
    state: str | None
    due_at: datetime
    reason: str | None = None
    id: int = 0
