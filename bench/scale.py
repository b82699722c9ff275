"""Load-by-key latency with 1,000,000 stored conversations against 1,000.

Both databases are filled the same way (one ``INSERT ... SELECT`` over a recursive CTE, rows
shaped like the support flow's), then the same number of random keys is loaded from each,
alternating between the two so that noise falls on both alike. Two figures per database:
``Store.load`` as the engine calls it (one hop to the connection's thread, the idempotency
lookup and the conversation), and the same SQL run directly on a connection (the B-tree
lookups alone).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import median, migrate, percentile
from bench.traffic import OUR_NUMBER
from storage.sqlite import SQLiteStore

__all__ = ["ScaleResult", "populate", "scale_bench"]

_FILL = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1)
INSERT INTO conversations
    (key, flow, state, data, version, closed, channel, ours, theirs, created_at, updated_at)
SELECT 'sms:' || :ours || ':+1' || printf('%010d', i), 'support', 'menu',
       '{"tickets":["Where is my parcel? It is late."],"last_order":"A1001"}', 7, 0, 'sms',
       :ours, '+1' || printf('%010d', i), '2026-11-22T08:00:00+00:00',
       '2026-11-22T08:00:00+00:00'
FROM seq
"""
_FILL_IDEMPOTENCY = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1)
INSERT INTO idempotency (key, conversation, response, at)
SELECT 'msg:SM' || printf('%032x', i), 'sms:' || :ours || ':+1' || printf('%010d', i),
       '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hi!</Message></Response>',
       '2026-11-22T08:00:00+00:00'
FROM seq
"""


def key(i: int) -> str:
    return f"sms:{OUR_NUMBER}:+1{i:010d}"


def populate(path: Path, n: int) -> float:
    """A database at ``path`` with ``n`` conversations and ``n`` idempotency records."""
    migrate(path)
    start = time.perf_counter()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(_FILL, {"n": n, "ours": OUR_NUMBER})
        conn.execute(_FILL_IDEMPOTENCY, {"n": n, "ours": OUR_NUMBER})
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - start


@dataclass
class Lookup:
    """Latencies in µs of loading random keys from one database."""

    rows: int
    store_us: list[float]
    sql_us: list[float]


def _raw(conn: sqlite3.Connection, keys: list[str]) -> list[float]:
    samples = []
    for k in keys:
        start = time.perf_counter_ns()
        SQLiteStore._load(conn, k, ("msg:SMnot-a-duplicate",))
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


async def _hops(store: SQLiteStore, keys: list[str]) -> list[float]:
    samples = []
    for k in keys:
        start = time.perf_counter_ns()
        loaded = await store.load(k, ("msg:SMnot-a-duplicate",))
        samples.append((time.perf_counter_ns() - start) / 1000)
        if loaded.conversation is None:
            raise RuntimeError(f"key {k} was not found")
    return samples


async def _measure(paths: dict[int, Path], lookups: int, rounds: int) -> dict[int, Lookup]:
    """Alternate small chunks of lookups between the databases, so noise hits both alike."""
    stores = {n: SQLiteStore(path) for n, path in paths.items()}
    conns = {n: sqlite3.connect(path, isolation_level=None) for n, path in paths.items()}
    results = {n: Lookup(n, [], []) for n in paths}
    rng = random.Random(7)
    chunk = max(1, lookups // rounds)
    for store in stores.values():
        await store.open()
    try:
        for n in paths:  # warm up: what a running server has cached after a while
            await _hops(stores[n], [key(rng.randrange(n)) for _ in range(chunk)])
            _raw(conns[n], [key(rng.randrange(n)) for _ in range(chunk)])
        for _ in range(rounds):
            for n in paths:
                results[n].store_us += await _hops(
                    stores[n], [key(rng.randrange(n)) for _ in range(chunk)]
                )
                results[n].sql_us += _raw(conns[n], [key(rng.randrange(n)) for _ in range(chunk)])
    finally:
        for store in stores.values():
            await store.close()
        for conn in conns.values():
            conn.close()
    return results


@dataclass
class ScaleResult:
    small: Lookup
    large: Lookup
    fill_seconds: float

    @staticmethod
    def stats(samples: list[float]) -> tuple[float, float]:
        return median(samples), percentile(samples, 99)

    @property
    def ratio(self) -> float:
        """p50 of Store.load at the large size over the small size."""
        return median(self.large.store_us) / median(self.small.store_us)

    @property
    def sql_ratio(self) -> float:
        return median(self.large.sql_us) / median(self.small.sql_us)


def scale_bench(
    work: Path, small: int = 1_000, large: int = 1_000_000, lookups: int = 20_000
) -> ScaleResult:
    """Fill both databases and compare load latencies."""
    paths = {small: work / f"scale-{small}.db", large: work / f"scale-{large}.db"}
    populate(paths[small], small)
    fill = populate(paths[large], large)
    results = asyncio.run(_measure(paths, lookups, rounds=40))
    return ScaleResult(results[small], results[large], fill)
