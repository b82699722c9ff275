"""Resident memory of a pipeline worker after 1,000 distinct callers, and up to 200,000.

One worker serves signed SMS webhooks, each from a caller it has never seen (so each one
creates a conversation): the first 1,000 sent by ``bench/client.py`` (wrk cannot stop after
an exact count), the rest by wrk at concurrency 64. The worker's VmRSS is read after
the first 1,000 callers and again at each checkpoint. SQLite's page caches fill over the first
~100,000 (bounded: a few MiB); growth per caller shows in the last stretch, once they are full.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.client import replay
from bench.common import migrate, rss_kib, say, stored_count
from bench.server import Server
from bench.traffic import sms_traffic, write_traffic
from bench.webhook import PIPELINE_APP, Driver, pipeline_env

__all__ = ["MemoryResult", "memory_bench"]


@dataclass
class MemoryResult:
    """(callers served, worker RSS in KiB) at each checkpoint, and the database size."""

    points: list[tuple[int, int]]
    db_bytes: int

    @property
    def ratio(self) -> float:
        return self.points[-1][1] / self.points[0][1]

    @property
    def bytes_per_caller(self) -> float:
        """Growth per caller from the first checkpoint to the last."""
        (first_n, first_kib), (last_n, last_kib) = self.points[0], self.points[-1]
        return (last_kib - first_kib) * 1024 / (last_n - first_n)

    @property
    def bytes_per_caller_warm(self) -> float:
        """Growth per caller from the second checkpoint on, once SQLite's caches are full."""
        (first_n, first_kib), (last_n, last_kib) = self.points[1], self.points[-1]
        return (last_kib - first_kib) * 1024 / (last_n - first_n)

    @property
    def bytes_per_caller_last(self) -> float:
        """Growth per caller over the last stretch (the caches long full): what a worker keeps
        per caller, if anything. The first stretches also fill SQLite's page caches (a few
        MiB, bounded), which a ratio of RSS cannot tell from growth per caller."""
        (first_n, first_kib), (last_n, last_kib) = self.points[-2], self.points[-1]
        return (last_kib - first_kib) * 1024 / (last_n - first_n)


def memory_bench(work: Path, checkpoints: Sequence[int] = (1_000, 10_000, 100_000)) -> MemoryResult:
    """Serve at least ``checkpoints[-1]`` distinct callers, reading RSS at each checkpoint.

    The first checkpoint is reached exactly (``bench/client.py``); later ones by wrk runs of a
    few seconds until the store holds that many conversations (so a little past it).
    """
    traffic = work / "memory-traffic.txt"
    total = checkpoints[-1] + 30_000  # room for the last wrk run to overshoot
    write_traffic(traffic, "/twilio", sms_traffic(total, total, first_caller=5_000_000))
    db = work / "memory.db"
    migrate(db)
    points = []
    with Server(PIPELINE_APP, 1, pipeline_env(db), work / "servers.log") as server:
        (worker,) = server.worker_pids()
        statuses = replay(server.port, traffic, skip=0, count=checkpoints[0])
        if set(statuses) != {200}:
            raise RuntimeError(f"memory run: statuses {sorted(set(statuses))}")
        driver = Driver(server, traffic, work)
        driver.skip = checkpoints[0]
        for mark in checkpoints:
            while (served := stored_count(db, "conversations")) < mark:
                result = driver.run(64, 4)
                if result["non200"] or result["wraps"]:
                    raise RuntimeError(f"memory run: {result}")
            points.append((served, rss_kib(worker)))
            say(f"  after {served:>7,} callers: worker RSS {points[-1][1] / 1024:7.1f} MiB")
    size = sum(os.path.getsize(p) for p in db.parent.glob(db.name + "*"))
    return MemoryResult(points, size)
