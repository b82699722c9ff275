"""How long `switchboard stats` takes on a million conversations (SQLite or PostgreSQL).

``python -m bench.stats_scale --conversations 1000000 [--database URL]`` fills a fresh
database (a temporary SQLite file by default; a PostgreSQL URL gets its own schema, dropped
after) with conversations of a three-state flow spread over the last six days: each has
an inbound first step and one outbound reply per inbound step; a quarter complete
(ask → answered → done by a timer), a quarter stop in ``answered``, a
quarter send STOP in ``ask``, a quarter stay in ``ask``. Then it runs the statistics
program (the same one ``switchboard stats`` runs) three times and prints the best time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import open_store
from storage.backend import Backend
from storage.programs import Program
from storage.stats import flow_stats

__all__ = ["main"]

# (class of conversation or -1 for all, direction, kind, before, after, meta, seconds after start)
_IN_OUT = [
    (-1, "ask", "ask", "{}", 0),
    (0, "ask", "answered", "{}", 30),
    (0, "answered", "done", '{"timer":"no_reply"}', 630),
    (1, "ask", "answered", "{}", 40),
    (2, "ask", "ask", '{"keyword":"opt_out"}', 20),
]
STEPS = [
    step
    for cls, before, after, meta, off in _IN_OUT
    for step in (
        (cls, "in", "message", before, after, meta, off),
        (cls, "out", "message", None, after, "{}", off),
    )
]
_SQLITE_TS = "strftime('%Y-%m-%dT%H:%M:%S', 'now', '-' || ((i * 7919) % 518400) || ' seconds')"
SQLITE_FILL = [
    "CREATE TEMP TABLE steps (cls INTEGER, dir TEXT, kind TEXT, before TEXT, after TEXT, "
    "meta TEXT, off INTEGER)",
    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count} - 1) "
    "INSERT INTO conversations (key, flow, state, data, version, closed, channel, ours, theirs, "
    "created_at, updated_at) SELECT 'sms:+15550100000:+1' || printf('%010d', i), 'quiz', "
    "CASE i % 4 WHEN 0 THEN 'done' WHEN 1 THEN 'answered' ELSE 'ask' END, '{{}}', i % 4, "
    "i % 4 = 0, 'sms', '+15550100000', '+1' || printf('%010d', i), "
    f"{_SQLITE_TS} || '.000000+00:00', {_SQLITE_TS} || '.000000+00:00' FROM n",
    "INSERT INTO message_log (conversation, direction, kind, body, at, sid, channel, media, "
    "state_before, state_after, meta) SELECT c.key, s.dir, s.kind, 'x', "
    "strftime('%Y-%m-%dT%H:%M:%S', c.created_at, '+' || s.off || ' seconds') || "
    "'.000000+00:00', NULL, 'sms', '[]', s.before, s.after, s.meta FROM conversations c "
    "JOIN steps s ON s.cls = -1 OR s.cls = c.version ORDER BY c.key, s.off, s.dir",
]
PG_FILL = [
    "CREATE TEMP TABLE steps (cls int, dir text, kind text, before text, after text, "
    "meta text, off int)",
    "INSERT INTO conversations (key, flow, state, data, version, closed, channel, ours, theirs, "
    "created_at, updated_at) SELECT 'sms:+15550100000:+1' || lpad(i::text, 10, '0'), 'quiz', "
    "CASE i % 4 WHEN 0 THEN 'done' WHEN 1 THEN 'answered' ELSE 'ask' END, '{{}}', i % 4, "
    "i % 4 = 0, 'sms', '+15550100000', '+1' || lpad(i::text, 10, '0'), "
    "now() - ((i::bigint * 7919) % 518400) * interval '1 second', "
    "now() - ((i::bigint * 7919) % 518400) * interval '1 second' "
    "FROM generate_series(0, {count} - 1) i",
    "INSERT INTO message_log (conversation, direction, kind, body, at, sid, channel, media, "
    "state_before, state_after, meta) SELECT c.key, s.dir, s.kind, 'x', "
    "c.created_at + s.off * interval '1 second', NULL, 'sms', '[]', s.before, s.after, "
    "s.meta::jsonb "
    "FROM conversations c JOIN steps s ON s.cls = -1 OR s.cls = c.version "
    "ORDER BY c.key, s.off, s.dir",
    "ANALYZE",
]


async def fill(store: Backend, count: int) -> None:
    """Create ``count`` conversations and their log (see the module docstring)."""
    postgres = store.dialect.name == "postgres"
    statements = PG_FILL if postgres else SQLITE_FILL
    marks = "(?,?,?,?,?,?,?)"

    def program() -> Program[None]:
        yield statements[0], ()
        for step in STEPS:
            yield f"INSERT INTO steps VALUES {marks}", step
        for sql in statements[1:]:
            yield sql.format(count=count), ()

    await store.run(program())


async def measure(url: str, count: int, filled: bool = False) -> None:
    store = open_store(url, auto_migrate=True)
    if not isinstance(store, Backend):
        raise SystemExit(f"{url}: not a backend")
    await store.open()
    try:
        start = time.perf_counter()
        if not filled:
            await fill(store, count)
            print(f"filled {count:,} conversations in {time.perf_counter() - start:.1f} s")
        best = float("inf")
        for _ in range(3):
            now = datetime.now(UTC)
            program = flow_stats(store.dialect, "quiz", now - timedelta(days=7), now,
                                 timedelta(hours=24))  # fmt: skip
            start = time.perf_counter()
            stats = await store.run(program, atomic=False)
            best = min(best, time.perf_counter() - start)
        print(f"{store.dialect.name}: stats of {stats.started:,} conversations "
              f"({sum(s.entered for s in stats.states.values()):,} state entries) "
              f"in {best:.2f} s (best of 3)")  # fmt: skip
        for s in stats.states.values():
            print(f"  {s.state:<9} entered {s.entered:>8,} left {s.left} timed out "
                  f"{s.timed_out} stopped {s.stopped} gave up {s.gave_up} "
                  f"median {s.median_seconds}")  # fmt: skip
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stats_scale", description=__doc__)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--database", help="a PostgreSQL server URL (default: SQLite file)")
    parser.add_argument("--sqlite-file", type=Path, help="fill this file once and keep it")
    args = parser.parse_args()
    if args.sqlite_file:
        filled = args.sqlite_file.exists()
        url = f"sqlite:///{args.sqlite_file.resolve()}"
        asyncio.run(measure(url, args.conversations, filled))
        return 0
    if args.database:
        from bot.testing.databases import drop_schema_async, with_options

        schema = f"sb_bench_{uuid.uuid4().hex[:12]}"
        try:
            asyncio.run(measure(with_options(args.database, schema=schema), args.conversations))
        finally:
            asyncio.run(drop_schema_async(args.database, schema))
        return 0
    with tempfile.TemporaryDirectory(prefix="switchboard-stats-") as folder:
        asyncio.run(measure(f"sqlite:///{Path(folder) / 'stats.db'}", args.conversations))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
