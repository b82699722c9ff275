"""A caller's timers while its subflow runs: paused in its frame, resumed when the child returns.

The rule (docs/flows.md, "Subflows"):

- **On a call** the caller's *kept* timers (``turn.schedule(..., keep=True)``, bound to no
  state: the stored ones and those scheduled in the calling step) leave the timers table and
  are stored in the caller's frame with the time they had left. Its timers bound to a state
  go, as leaving any state cancels them: the calling state is left when the child returns
  (its own ``timeouts`` are refused at registration), so a timer bound to it could never
  fire; one scheduled in the calling step is dropped with a log line.
- **On a return** (completed, failed or expired) every timer of the child is cancelled, its
  timeouts and those it scheduled, and the caller's paused timers are set again with the
  time they had left (one that was already due when the child was called fires at once).

While a child runs the timers table holds only the child's timers, so the turn's write
clears the conversation's timers (``TurnWrite.clear_timers``) and sets the running flow's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.flow.intents import ScheduleIntent
from bot.flow.turn import Turn
from storage.records import Timer

__all__ = ["TimerReader", "dedupe", "pause", "resume"]

log = logging.getLogger("switchboard.subflows")

TimerReader = Callable[[], Awaitable[list[Timer]]]


def _paused(name: str, trigger: str, left: timedelta, payload: dict[str, Any]) -> dict[str, Any]:
    seconds = max(left.total_seconds(), 0.0)
    return {"name": name, "trigger": trigger, "left": seconds, "payload": payload}


def pause(stored: list[Timer], turn: Turn, caller: str, now: datetime) -> list[dict[str, Any]]:
    """The caller's kept timers as a frame stores them; the step's own are taken off ``turn``.

    ``stored`` are the caller's timers in the table (empty when this step already cleared
    it: then the caller started running in this very step)."""
    found = {
        t.name: _paused(t.name, t.trigger, t.due_at - now, dict(t.payload))
        for t in stored
        if t.state is None and t.flow == caller
    }
    for intent in turn.timers:
        if intent.keep:
            found[intent.name] = _paused(intent.name, intent.trigger, intent.delay, intent.payload)
        else:
            log.info(
                "timer %r scheduled by flow %r as it calls a subflow is bound to its calling "
                "state, which it leaves when the child returns: not set (use keep=True) "
                "(conversation %s)", intent.name, caller, turn.key.id,
            )  # fmt: skip
    turn.timers.clear()
    if found:
        log.info(
            "%d timer(s) of flow %r paused while its subflow runs (conversation %s)",
            len(found), caller, turn.key.id,
        )  # fmt: skip
    return list(found.values())


def resume(frame: dict[str, Any], turn: Turn, child: str) -> None:
    """Cancel the child's timers (those it set in this step; the stored ones go with the
    write) and set the caller's paused ones again, with the time they had left."""
    if turn.timers:
        log.info(
            "subflow %r returned: %d timer(s) it scheduled in this step are not set "
            "(conversation %s)", child, len(turn.timers), turn.key.id,
        )  # fmt: skip
    paused = [p for p in frame.get("timers", ()) if isinstance(p, dict)]
    turn.timers[:] = [
        ScheduleIntent(
            str(p["trigger"]), timedelta(seconds=float(p["left"])), str(p["name"]), keep=True,
            payload=dict(p.get("payload") or {}),
        )
        for p in paused
    ]  # fmt: skip
    if paused:
        log.info(
            "%d paused timer(s) of flow %r resumed after subflow %r (conversation %s)",
            len(paused), frame.get("flow"), child, turn.key.id,
        )  # fmt: skip


def dedupe(turn: Turn) -> None:
    """One timer per name (the last scheduled wins), as a single write sets them."""
    latest = {intent.name: intent for intent in turn.timers}
    turn.timers[:] = list(latest.values())
