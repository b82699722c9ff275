"""Small helpers shared by the benchmarks: timing, percentiles, printing."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
from collections.abc import Sequence
from pathlib import Path

import bot  # noqa: F401  (importing storage.sqlite before bot is a circular import)
from storage.sqlite import SQLiteStore

__all__ = ["migrate", "percentile", "rss_kib", "say", "stored_count"]


def say(text: str = "") -> None:
    """Print a line at once (the bench is read as it runs)."""
    print(text, flush=True)


def percentile(samples: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def migrate(path: Path) -> None:
    """Create (or upgrade) the database at ``path`` before several workers open it."""

    async def run() -> None:
        store = SQLiteStore(path)
        await store.open()
        await store.close()

    asyncio.run(run())


def stored_count(path: Path, table: str) -> int:
    """Rows in ``table`` of the SQLite database at ``path``."""
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(count)


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid`` in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")
