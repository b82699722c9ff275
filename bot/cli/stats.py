"""``switchboard stats FLOW``: where people go, stop and give up in a flow, per state.

Read-only: it never creates or migrates a database (a SQLite file that does not exist is an
error), and prints one line and exits 2 on any error. ``--csv`` writes one row per state.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli.common import Commands, database_url, fail, require_database, run_async
from bot.errors import ConfigError
from bot.observe.config import parse_duration
from storage.backend import Backend
from storage.sqlite import SQLiteStore
from storage.stats import FlowStats, StateStats, flow_stats
from storage.url import open_store, redact

__all__ = ["add_parser", "duration", "render_csv", "render_table", "run"]

COLUMNS = ("state", "entered", "left_to", "timed_out", "handed_off", "gave_up", "stopped",
           "median_seconds")  # fmt: skip


def duration(option: str, text: str) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``90s``, ``2w`` (at most 100 years) as a timedelta;
    ValueError naming ``option`` otherwise. Read in :func:`run`, not as argparse's ``type``,
    so a bad one is one line (argparse would add its usage)."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None


def add_parser(commands: Commands) -> None:
    """Register ``switchboard stats``."""
    stats = commands.add_parser("stats", help="per-state statistics of a flow")
    stats.add_argument("flow", help="the flow's name")
    stats.add_argument("--since", default="7d", help="look this far back (default 7d)")
    stats.add_argument("--idle", default="24h",
                       help="idle this long in a state: gave up (default 24h)")  # fmt: skip
    stats.add_argument("--csv", action="store_true", help="write CSV to stdout")
    stats.add_argument("--database", help="database URL (default: from env)")


def _left(state: StateStats) -> str:
    return " ".join(f"{to}:{n}" for to, n in sorted(state.left.items()))


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.1f}s"


def _ordered(stats: FlowStats) -> list[StateStats]:
    return sorted(stats.states.values(), key=lambda s: (-s.entered, s.state))


def render_table(stats: FlowStats) -> str:
    """The statistics as an aligned table with a summary line."""
    lines = [
        f"flow {stats.flow} since {stats.since:%Y-%m-%d %H:%M} UTC: {stats.started} started, "
        f"{stats.completed} completed ({stats.completion_rate:.1%})",
        f"{'state':<20} {'entered':>8} {'timed out':>9} {'handed off':>10} {'gave up':>8} "
        f"{'stopped':>8} {'median':>8}  left to",
    ]
    for s in _ordered(stats):
        lines.append(
            f"{s.state:<20} {s.entered:>8} {s.timed_out:>9} {s.handed_off:>10} {s.gave_up:>8} "
            f"{s.stopped:>8} {_seconds(s.median_seconds):>8}  {_left(s)}"
        )
    return "\n".join(lines)


def render_csv(stats: FlowStats, out: object = None) -> None:
    """One CSV row per state (``left_to`` as ``state:count`` pairs) to ``out`` or stdout."""
    writer = csv.writer(out if out is not None else sys.stdout)  # type: ignore[arg-type]
    writer.writerow(COLUMNS)
    for s in _ordered(stats):
        median = "" if s.median_seconds is None else f"{s.median_seconds:.1f}"
        writer.writerow((s.state, s.entered, _left(s), s.timed_out, s.handed_off, s.gave_up,
                         s.stopped, median))  # fmt: skip


async def _stats(args: argparse.Namespace) -> int:
    url = database_url(args)
    store = open_store(url, auto_migrate=False)
    if not isinstance(store, Backend):
        raise ConfigError(f"{redact(url)}: this store cannot run the statistics queries")
    now = datetime.now(UTC)
    await store.open()
    try:
        stats = await store.run(
            flow_stats(store.dialect, args.flow, now - args.since, now, args.idle), atomic=False
        )
    finally:
        await store.close()
    if not stats.states and not stats.started:
        print(f"switchboard: no steps of flow {args.flow!r} since {stats.since:%Y-%m-%d %H:%M}",
              file=sys.stderr)  # fmt: skip
    if args.csv:
        render_csv(stats)
    else:
        print(render_table(stats))
    return 0


def run(args: argparse.Namespace) -> int:
    """Print the statistics; exit 2 with one line on an error."""
    try:
        args.since, args.idle = duration("--since", args.since), duration("--idle", args.idle)
    except ValueError as exc:
        return fail(str(exc))
    try:
        store = open_store(database_url(args), auto_migrate=False)
    except ConfigError as exc:
        return fail(str(exc))
    if isinstance(store, SQLiteStore) and not Path(store.path).exists():
        try:
            require_database(args)  # says which file, from where, and what to do
        except ConfigError as exc:
            return fail(str(exc))
    return run_async(_stats)(args)
