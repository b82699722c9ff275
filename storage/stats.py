"""Per-state flow statistics (``switchboard stats``), one program for both backends.

Computed from the message log's inbound entries (each carries ``state_before`` and
``state_after``) of the flow's conversations since a moment, in three grouped queries that
return one row per state or state pair, whatever the number of conversations:

- steps per (state before, state after): entered, left to which state, timed out (a timer's
  step: meta ``timer``), stopped (an opt-out keyword: meta ``keyword = opt_out``);
- time spent per step (since the conversation's previous step), per state, counted in
  fixed buckets, from which the median is interpolated;
- conversations started, completed (closed), and idle longer than ``idle`` in a state
  (gave up), from the conversations table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storage.dialect import Dialect
from storage.programs import Program

__all__ = ["BUCKETS", "FlowStats", "StateStats", "flow_stats", "median"]

# Upper bounds (seconds) of the time-spent buckets; the last is open-ended.
BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400,
           172800, 604800)  # fmt: skip
_SQL = {
    "sqlite": {
        "epoch": "(julianday({}) * 86400.0)",
        "timer": "json_extract(l.meta, '$.timer') IS NOT NULL",
        "keyword": "json_extract(l.meta, '$.keyword')",
    },
    "postgres": {
        "epoch": "EXTRACT(EPOCH FROM {})",
        "timer": "(l.meta->>'timer') IS NOT NULL",
        "keyword": "(l.meta->>'keyword')",
    },
}
_FROM = (
    "FROM message_log l JOIN conversations c ON c.key = l.conversation "
    "WHERE l.direction = 'in' AND c.flow = ? AND l.at >= ?"
)


@dataclass
class StateStats:
    """What happened in one state (see the module docstring)."""

    state: str
    entered: int = 0
    left: dict[str, int] = field(default_factory=dict)
    timed_out: int = 0
    handed_off: int = 0  # always 0: hand-off does not exist yet
    gave_up: int = 0
    stopped: int = 0
    median_seconds: float | None = None


@dataclass
class FlowStats:
    """A flow's statistics since ``since``, per state in first-seen order."""

    flow: str
    since: datetime
    started: int = 0
    completed: int = 0
    states: dict[str, StateStats] = field(default_factory=dict)

    @property
    def completion_rate(self) -> float:
        """Completed conversations over started ones (0 when none started)."""
        return self.completed / self.started if self.started else 0.0

    def state(self, name: str) -> StateStats:
        """The statistics of ``name`` (created empty on first use)."""
        return self.states.setdefault(name, StateStats(name))


def _bucket(spent: str) -> str:
    cases = " ".join(f"WHEN {spent} <= {b} THEN {i}" for i, b in enumerate(BUCKETS))
    return f"CASE {cases} ELSE {len(BUCKETS)} END"


def median(counts: dict[int, int]) -> float | None:
    """The median of values counted per bucket (index into :data:`BUCKETS`), interpolated
    linearly inside its bucket; ``None`` without values."""
    total = sum(counts.values())
    if not total:
        return None
    half, seen = total / 2, 0
    for index in sorted(counts):
        low = 0.0 if index == 0 else float(BUCKETS[index - 1])
        high = float(BUCKETS[index]) if index < len(BUCKETS) else low * 2
        if seen + counts[index] >= half:
            return low + (high - low) * (half - seen) / counts[index]
        seen += counts[index]
    return None  # pragma: no cover - the loop always reaches half


def flow_stats(
    d: Dialect, flow: str, since: datetime, now: datetime, idle: timedelta
) -> Program[FlowStats]:
    """The statistics of ``flow`` since ``since``; a conversation is idle (gave up) after
    ``idle`` without a step."""
    sql = _SQL[d.name]
    stats = FlowStats(flow, since)
    steps = yield (
        f"SELECT l.state_before, l.state_after, COUNT(*), "
        f"SUM(CASE WHEN {sql['timer']} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {sql['keyword']} = 'opt_out' THEN 1 ELSE 0 END) {_FROM} "
        "GROUP BY l.state_before, l.state_after",
        (flow, d.stamp(since)),
    )
    for before, _after, _count, timed_out, stopped in steps:
        here = stats.state(before or "")
        here.timed_out += int(timed_out or 0)
        here.stopped += int(stopped or 0)
    for before, after, count, _timed_out, _stopped in steps:
        if after is not None and before != after:
            stats.state(before or "").left[after] = int(count)
            stats.state(after).entered += int(count)
    epoch = sql["epoch"]
    spent = (
        f"{epoch.format('l.at')} - "
        f"{epoch.format('LAG(l.at) OVER (PARTITION BY l.conversation ORDER BY l.id)')}"
    )
    first = f"CASE WHEN spent IS NULL AND fresh THEN -1 WHEN spent IS NULL THEN -2 ELSE {_bucket('spent')} END"  # noqa: E501
    buckets = yield (
        f"SELECT state, {first}, COUNT(*) FROM ("
        f"SELECT l.state_before AS state, {spent} AS spent, c.created_at >= ? AS fresh "
        f"{_FROM}) t GROUP BY 1, 2",
        (d.stamp(since), flow, d.stamp(since)),
    )
    per_state: dict[str, dict[int, int]] = {}
    for state, index, count in buckets:
        if int(index) == -1:  # a conversation's first step: it entered its initial state
            stats.state(state or "").entered += int(count)
        elif int(index) >= 0:
            per_state.setdefault(state or "", {})[int(index)] = int(count)
    for state, counts in per_state.items():
        stats.state(state).median_seconds = median(counts)
    totals = yield (
        "SELECT COUNT(*), SUM(CASE WHEN closed THEN 1 ELSE 0 END) FROM conversations "
        "WHERE flow = ? AND created_at >= ?",
        (flow, d.stamp(since)),
    )
    stats.started, stats.completed = int(totals[0][0] or 0), int(totals[0][1] or 0)
    idle_rows = yield (
        "SELECT state, COUNT(*) FROM conversations WHERE flow = ? AND NOT closed "
        "AND updated_at >= ? AND updated_at < ? GROUP BY state",
        (flow, d.stamp(since), d.stamp(now - idle)),
    )
    for state, count in idle_rows:
        stats.state(state).gave_up = int(count)
    return stats
