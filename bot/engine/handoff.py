"""The engine's inbound path for a conversation in the hands of people (issue 13).

:func:`hold_for` decides, before the flow would run, whether this event may step it: while
the conversation's data holds a :class:`~bot.flow.handoff.Handoff`, nothing does (an
inbound message is stored in the log for operators, a flow timer or a start is dropped),
except the hand-off's own "nobody answered" timer while nobody has claimed it, which
:func:`resume_on_timeout` turns into a return to the flow. Consent keywords run before
this (``compliance.consent.before_flow``), so STOP and HELP still work. Every held event
leaves a log line.
"""

from __future__ import annotations

import inspect
import logging
from datetime import datetime
from enum import Enum
from typing import Any

from bot.events.internal import TimerFired
from bot.events.keys import ConversationKey
from bot.events.model import Event
from bot.flow.definition import CompiledFlow
from bot.flow.handoff import KEY, TIMEOUT_TRIGGER, Handoff, Status, current
from bot.flow.turn import Turn
from storage.records import Conversation, Direction, LogEntry

__all__ = [
    "Hold", "enter_state", "held_by", "hold_for", "marker", "markers", "resume_on_timeout",
]  # fmt: skip

log = logging.getLogger("switchboard.handoff")


class Hold(Enum):
    """What hand-off makes of an event: held (stored, the flow not run), or the time-out."""

    HELD = "held"
    TIMEOUT = "timeout"


def _is_timeout(event: Event) -> bool:
    return isinstance(event, TimerFired) and event.kind == TIMEOUT_TRIGGER


def hold_for(stored: Conversation | None, event: Event) -> Hold | None:
    """Whether ``event`` on ``stored`` is held by a hand-off (``None``: run the flow)."""
    found = current(stored.data) if stored is not None and not stored.closed else None
    if found is None or stored is None:
        if _is_timeout(event):  # the hand-off it was set for is over
            log.info("hand-off timer on %s ignored: no hand-off waiting", event.sid)
            return Hold.HELD
        return None
    if _is_timeout(event):
        timer = event.timer if isinstance(event, TimerFired) else None
        ours = timer is not None and timer.payload.get("handoff") == found.id
        if ours and found.status is Status.WAITING:
            log.info("hand-off %s on %s: nobody answered in time", found.id, stored.key)
            return Hold.TIMEOUT
        log.info("hand-off timer on %s ignored: the hand-off was claimed or replaced", stored.key)
        return Hold.HELD
    log.info(
        "%s on %s held for operators (hand-off %s, %s); the flow does not run",
        event.kind, stored.key, found.id, found.status,
    )  # fmt: skip
    return Hold.HELD


async def enter_state(flow: CompiledFlow, state: str, turn: Turn) -> None:
    """Run ``on_enter_<state>`` (if the flow has one) for ``turn``."""
    hook = getattr(flow.cls, f"on_enter_{state}", None)
    if hook is not None:
        result = hook(flow.cls(state), turn)
        if inspect.isawaitable(result):
            await result


async def resume_on_timeout(flow: CompiledFlow, turn: Turn) -> str:
    """Back to the flow after nobody answered: the state it resumes at, entered."""
    found = current(turn.data)
    turn.data.pop(KEY, None)
    target = (found and (found.timeout_state or found.resume)) or turn.state
    if target not in flow.cls.states:
        log.warning("hand-off resume state %r is not in flow %r; staying", target, flow.name)
        target = turn.state
    turn.data["handoff_outcome"] = "timeout"
    turn.state = target
    await enter_state(flow, target, turn)
    return target


def marker(
    key: str, channel: str, kind: str, body: str, state: str | None, now: datetime,
    meta: dict[str, Any],
) -> LogEntry:  # fmt: skip
    """A timeline entry about the hand-off itself (``handoff``, ``claimed``, ``returned``…)."""
    return LogEntry(
        conversation=key, direction=Direction.IN, kind=kind, body=body, at=now,
        channel=channel, state_before=state, state_after=state, meta=meta,
    )  # fmt: skip


def held_by(stored: Conversation | None) -> Handoff | None:
    """The hand-off ``stored`` is in (read before the step: the flow changes data in place)."""
    return current(stored.data) if stored is not None and not stored.closed else None


def markers(
    was: Handoff | None, data: dict[str, Any] | None, key: ConversationKey, state: str,
    now: datetime,
) -> list[LogEntry]:  # fmt: skip
    """The entries for a step that started or ended a hand-off (``was``: the hand-off before
    the step; ``data``: what the step saved, ``None`` if nothing)."""
    if data is None:
        return []
    now_on = current(data)
    channel = key.channel.value
    if now_on is not None and (was is None or was.id != now_on.id):
        meta = {"handoff": now_on.id, "resume": now_on.resume, "source": now_on.source.value}
        log.info("%s handed off by its flow: %s", key.id, now_on.reason)
        return [marker(key.id, channel, "handoff", now_on.reason, state, now, meta)]
    if was is not None and now_on is None:
        meta = {"handoff": was.id, "outcome": data.get("handoff_outcome", "")}
        return [marker(key.id, channel, "returned", "returned to flow", state, now, meta)]
    return []
