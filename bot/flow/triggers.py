"""Which trigger names a flow's transitions may use: those something actually fires.

A transition whose trigger nothing fires is a typo waiting to happen (``T("mesage", ...)``
used to pass validation and silently never run). The framework fires the events' own kinds
(:data:`FRAMEWORK_TRIGGERS`); a flow's timers fire the triggers of its ``timeouts`` and the
ones it names in ``triggers`` (for ``turn.schedule``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["FRAMEWORK_TRIGGERS", "unknown_triggers"]

# Fired by Switchboard itself: messages, the global ones, and every voice event.
FRAMEWORK_TRIGGERS = frozenset({
    "message", "invalid", "window_closed", "start",
    "call", "gather", "no_input", "recording", "dial", "redirect", "recording_status",
    "transcription", "hangup", "call_progress", "queue",
})  # fmt: skip


def _fired(declared: Iterable[str], timeouts: Mapping[str, Sequence[Any]]) -> set[str]:
    timer_triggers = {t.trigger for ts in timeouts.values() for t in ts}
    return set(FRAMEWORK_TRIGGERS) | timer_triggers | set(declared)


def unknown_triggers(
    specs: Sequence[Mapping[str, Any]],
    declared: Iterable[str],
    timeouts: Mapping[str, Sequence[Any]],
) -> list[str]:
    """One message per transition whose trigger nothing fires, with a suggestion."""
    fired = _fired(declared, timeouts)
    problems = []
    for index, spec in enumerate(specs):
        trigger = spec.get("trigger")
        if not isinstance(trigger, str) or trigger in fired:
            continue
        close = difflib.get_close_matches(trigger, sorted(fired), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(
            f"transition #{index} ({trigger!r}) is never fired{hint}. Switchboard fires "
            f"{', '.join(sorted(FRAMEWORK_TRIGGERS))}; a timer fires its Timeout's trigger; "
            f"declare the names turn.schedule fires in `triggers = [...]`"
        )
    return problems
