"""Per-state flow statistics (``switchboard stats``), one program for both backends.

Computed from the message log's inbound entries (each carries ``state_before`` and
``state_after``) of the flow's conversations since a moment, in grouped queries that
return a row per state, state pair or bucket, whatever the number of conversations:

- one pass over the steps, grouped by (state before, state after, time-spent bucket):
  entered, left to which state, timed out (a timer's step: meta ``timer``), stopped (an
  opt-out keyword: meta ``keyword = opt_out``), and the time spent per step (since the
  conversation's previous step) counted in fixed buckets, from which the median is
  interpolated;
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
        "round": "ROUND({}, 3)",  # julianday's float: 600 s must not come out as 600.00001
        "timer": "json_extract(l.meta, '$.timer') IS NOT NULL",
        "keyword": "json_extract(l.meta, '$.keyword')",
        # not by the time index: read in conversation order, the window needs no sort
        "at": "+l.at",
    },
    "postgres": {
        "epoch": "EXTRACT(EPOCH FROM {})",
        "round": "ROUND(({})::numeric, 3)",
        "timer": "(l.meta->>'timer') IS NOT NULL",
        "keyword": "(l.meta->>'keyword')",
        "at": "l.at",
    },
}
_FROM = (
    "FROM message_log l JOIN conversations c ON c.key = l.conversation "
    "WHERE l.direction = 'in' AND c.flow = ? AND {at} >= ?"
)


@dataclass
class StateStats:
    """What happened in one state (see the module docstring)."""

    state: str
    entered: int = 0
    left: dict[str, int] = field(default_factory=dict)
    timed_out: int = 0
    handed_off: int = 0  # hand-offs to a person from this state (their "handoff" entries)
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

    def as_json(self) -> dict[str, object]:
        """The statistics as JSON-ready values, states ordered by how many entered them."""
        states = sorted(self.states.values(), key=lambda s: (-s.entered, s.state))
        return {
            "flow": self.flow, "since": self.since.isoformat(), "started": self.started,
            "completed": self.completed, "completion_rate": self.completion_rate,
            "states": [
                {"state": s.state, "entered": s.entered, "left": s.left,
                 "timed_out": s.timed_out, "handed_off": s.handed_off, "gave_up": s.gave_up,
                 "stopped": s.stopped, "median_seconds": s.median_seconds}
                for s in states
            ],
        }  # fmt: skip

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
    epoch = sql["epoch"]
    previous = "LAG(l.at) OVER (PARTITION BY l.conversation ORDER BY l.id)"
    spent = sql["round"].format(f"{epoch.format('l.at')} - {epoch.format(previous)}")
    # one pass over the steps: -1 = a conversation's first step, -2 = the first in the window
    # of an older one, else the time-spent bucket
    first = f"CASE WHEN spent IS NULL AND fresh THEN -1 WHEN spent IS NULL THEN -2 ELSE {_bucket('spent')} END"  # noqa: E501
    rows = yield (
        f"SELECT state, after, {first}, COUNT(*), SUM(timer), SUM(stop), SUM(handoff) FROM ("
        f"SELECT l.state_before AS state, l.state_after AS after, {spent} AS spent, "
        f"c.created_at >= ? AS fresh, CASE WHEN {sql['timer']} THEN 1 ELSE 0 END AS timer, "
        f"CASE WHEN {sql['keyword']} = 'opt_out' THEN 1 ELSE 0 END AS stop, "
        f"CASE WHEN l.kind = 'handoff' THEN 1 ELSE 0 END AS handoff "
        f"{_FROM.format(at=sql['at'])}) t GROUP BY 1, 2, 3",
        (d.stamp(since), flow, d.stamp(since)),
    )
    per_state: dict[str, dict[int, int]] = {}
    for before, after, index, count, timed_out, stopped, handed in rows:
        here, count, index = stats.state(before or ""), int(count), int(index)
        here.timed_out += int(timed_out or 0)
        here.stopped += int(stopped or 0)
        here.handed_off += int(handed or 0)
        if after is not None and before != after:
            here.left[after] = here.left.get(after, 0) + count
            stats.state(after).entered += count
        if index == -1:  # a conversation's first step: it entered its initial state
            here.entered += count
        elif index >= 0:
            spread = per_state.setdefault(before or "", {})
            spread[index] = spread.get(index, 0) + count
    for state, counts in per_state.items():
        stats.state(state).median_seconds = median(counts)
    totals = yield (
        "SELECT COUNT(*), SUM(CASE WHEN closed THEN 1 ELSE 0 END) FROM conversations "
        "WHERE flow = ? AND created_at >= ?",
        (flow, d.stamp(since)),
    )
    stats.started, stats.completed = int(totals[0][0] or 0), int(totals[0][1] or 0)
    first, last = d.minute(since), d.minute(now - idle)  # the exact times only at the ends
    idle_rows = yield (
        "SELECT state, COUNT(*) FROM conversations WHERE flow = ? AND NOT closed "
        "AND active_minute >= ? AND active_minute <= ? AND (active_minute > ? OR updated_at >= ?) "
        "AND (active_minute < ? OR updated_at < ?) GROUP BY state",
        (flow, first, last, first, d.stamp(since), last, d.stamp(now - idle)),
    )
    for state, count in idle_rows:
        stats.state(state).gave_up = int(count)
    return stats
