"""The admin API's list and search over a million conversations (issue 12).

Fills a fresh database with ``--rows`` conversations (3 flows, 4 states each, a fifth
closed, updated over 30 days), then times the programs the API runs
(:mod:`storage.admin_queries`): the newest page, a flow/state filter on open ones,
"stuck" (open and idle over an hour), a number, a page deep in the list by cursor, and the
per-state counts of the flows page. Median and p95 of ``--repeat`` runs each.

    python -m bench.admin_search --backend sqlite --rows 1000000
    python -m bench.admin_search --backend postgres --rows 1000000 \\
        --url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage import admin_queries as Q
from storage.admin_queries import Cursor, Search
from storage.backend import Backend
from storage.programs import Program
from storage.url import open_store

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FLOWS = {
    "support": ("menu", "question", "order_lookup", "done"),
    "appointments": ("reminding", "confirmed", "cancelled", "rescheduling"),
    "ivr": ("menu", "sales", "support", "voicemail"),
}
NAMES = list(FLOWS)
_COLUMNS = "key, flow, state, data, version, closed, channel, ours, theirs, created_at, updated_at"
STUCK_IN_QUESTION = Search(
    flow="support", state="question", closed=False, idle_before=NOW - timedelta(days=29)
)
_PG_CHANNEL = "(CASE WHEN n % 100 = 1 THEN 'voice' WHEN n % 10 = 3 THEN 'whatsapp' ELSE 'sms' END)"


def _row(n: int) -> tuple[Any, ...]:
    flow = NAMES[n % 3]
    state = FLOWS[flow][(n // 3) % 4]
    at = (NOW - timedelta(seconds=(n * 2_654_435_761) % (30 * 86_400))).isoformat()
    theirs, channel = f"+1555{n:07d}", _channel(n)
    return (f"{channel}:+15550100000:{theirs}", flow, state, "{}", 3, int(n % 5 == 0), channel,
            "+15550100000", theirs, at, at)  # fmt: skip


def _channel(n: int) -> str:
    """Mostly SMS; one in 10 WhatsApp, one in 100 a call (a rare channel to filter on)."""
    return "voice" if n % 100 == 1 else "whatsapp" if n % 10 == 3 else "sms"


def _rows(count: int) -> Iterator[tuple[Any, ...]]:
    return (_row(n) for n in range(count))


def fill_sqlite(path: Path, count: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.executemany(f"INSERT INTO conversations ({_COLUMNS}) VALUES ({','.join('?' * 11)})",
                         _rows(count))  # fmt: skip
        conn.execute("ANALYZE")


async def fill_postgres(store: Backend, count: int) -> None:
    flows = ",".join(f"'{f}'" for f in NAMES)
    states = ",".join(f"'{s}'" for f in NAMES for s in FLOWS[f])
    sql = (
        f"INSERT INTO conversations ({_COLUMNS}) SELECT {_PG_CHANNEL} || ':+15550100000:+1555' "
        "|| lpad(n::text, 7, '0'), "
        f"(ARRAY[{flows}])[n % 3 + 1], (ARRAY[{states}])[(n % 3) * 4 + (n / 3) % 4 + 1], "
        f"'{{}}'::jsonb, 3, n % 5 = 0, {_PG_CHANNEL}, '+15550100000', "
        "'+1555' || lpad(n::text, 7, '0'), "
        "$1::timestamptz - make_interval(secs => (n::bigint * 2654435761) % 2592000), "
        "$1::timestamptz - make_interval(secs => (n::bigint * 2654435761) % 2592000) "
        f"FROM generate_series(0, {count - 1}) AS n"
    )

    def program() -> Program[None]:
        yield "SET LOCAL statement_timeout = 0", ()  # the store's 10 s is for turns, not this
        yield sql.replace("$1", "?"), (NOW, NOW)
        yield "ANALYZE conversations", ()

    await store.run(program(), statement_timeout_s=900)


async def timed(store: Backend, make: Callable[[], Program[Any]], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await store.run(make(), atomic=False)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def bench(store: Backend, repeat: int) -> None:
    d = store.dialect
    deep = (await store.run(Q.search(d, Search(limit=200)), atomic=False))[-1]
    cursor = Cursor(deep.updated_at or NOW, deep.key)
    cases: dict[str, Callable[[], Program[Any]]] = {
        "newest page (50)": lambda: Q.search(d, Search()),
        "open, flow+state (50)": lambda: Q.search(
            d, Search(flow="support", state="question", closed=False)
        ),
        "stuck: open, idle > 1 h (50)": lambda: Q.search(
            d, Search(closed=False, idle_before=NOW - timedelta(hours=1))
        ),
        "open, one flow (50)": lambda: Q.search(d, Search(flow="ivr", closed=False)),
        "one state, any flow (50)": lambda: Q.search(d, Search(state="voicemail")),
        "closed, flow+state (50)": lambda: Q.search(
            d, Search(flow="support", state="done", closed=True)
        ),
        "a rare channel: voice (50)": lambda: Q.search(d, Search(channel="voice")),
        "a channel nobody used (0)": lambda: Q.search(d, Search(channel="messenger")),
        "stuck in one state (50)": lambda: Q.search(d, STUCK_IN_QUESTION),
        "by number": lambda: Q.search(d, Search(theirs=("+15550424242", "whatsapp:+15550424242"))),
        "next page by cursor (50)": lambda: Q.search(d, Search(after=cursor)),
        "per-state counts (flows page)": lambda: Q.state_counts(d, NOW - timedelta(hours=1)),
    }
    print(f"{'query':<32} {'median ms':>10} {'p95 ms':>8}")
    for name, make in cases.items():
        times = sorted(await timed(store, make, repeat))
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{name:<32} {statistics.median(times):>10.2f} {p95:>8.2f}")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="switchboard-admin-bench-") as tmp:
        if args.backend == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'admin.db'}"
        else:
            url = f"{args.url}?schema=bench_{uuid.uuid4().hex[:10]}"
        store = open_store(url, auto_migrate=True)
        if not isinstance(store, Backend):
            raise SystemExit("the store is not a Backend")
        await store.open()
        try:
            start = time.perf_counter()
            if args.backend == "sqlite":
                await store.close()
                fill_sqlite(Path(tmp) / "admin.db", args.rows)
                await store.open()
            else:
                await fill_postgres(store, args.rows)
            print(f"{args.rows} conversations on {args.backend} "
                  f"(filled in {time.perf_counter() - start:.1f} s)")  # fmt: skip
            await bench(store, args.repeat)
        finally:
            if args.backend == "postgres":
                schema = url.rsplit("schema=", 1)[1]

                def drop() -> Program[None]:
                    yield f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', ()

                await store.run(drop())
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    asyncio.run(main(parser.parse_args()))
