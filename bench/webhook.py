"""Webhook throughput: the full pipeline against a bare Quart endpoint, side by side.

For each worker count, both servers are started (same ``switchboard serve`` command, same
Hypercorn configuration) and wrk replays the same signed traffic against each in turn, at
each concurrency, for several rounds; bare and pipeline runs alternate, so a noisy neighbour
slows both alike. The best round of each is reported (noise only ever slows a run down).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import migrate, say, stored_count
from bench.server import Server, run_wrk
from bench.traffic import PUBLIC_URL, TOKEN

__all__ = ["Row", "webhook_bench"]

PIPELINE_APP = "app:app"
BARE_APP = "bench.bare:app"


@dataclass
class Row:
    """One (workers, concurrency) cell: the best bare and pipeline runs."""

    workers: int
    connections: int
    bare: dict[str, Any]
    full: dict[str, Any]

    @property
    def ratio(self) -> float:
        return float(self.full["rps"] / self.bare["rps"])


def pipeline_env(db: Path) -> dict[str, str]:
    """The environment the pipeline server runs with (SQLite on disk)."""
    return {
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SWITCHBOARD_PUBLIC_URL": PUBLIC_URL,
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{db}",
    }


class Driver:
    """Replays one traffic file against one server, never sending a line twice."""

    def __init__(self, server: Server, traffic: Path, work: Path, path: str = "/twilio") -> None:
        self.server, self.traffic, self.work, self.path = server, traffic, work, path
        self.skip = 0
        self.ok = 0

    def run(self, connections: int, seconds: float, limit: int = 0) -> dict[str, Any]:
        """One wrk run; adds the workers' CPU µs per answered request (``cpu_us``)."""
        cpu = self.server.cpu_seconds()
        result = run_wrk(
            self.server.url, self.traffic, self.work / "wrk.json", connections=connections,
            seconds=seconds, path=self.path, skip=self.skip, limit=limit,
        )  # fmt: skip
        result["cpu_us"] = (self.server.cpu_seconds() - cpu) * 1e6 / max(result["requests"], 1)
        self.skip += int(result["sent"])
        self.ok += int(result["requests"]) - int(result["non200"])
        return result


def _best(a: dict[str, Any] | None, b: dict[str, Any]) -> dict[str, Any]:
    return b if a is None or b["rps"] > a["rps"] else a


def _show(kind: str, workers: int, connections: int, r: dict[str, Any]) -> None:
    flags = f" non200={r['non200']}" if r["non200"] else ""
    flags += f" WRAPPED x{r['wraps']}" if r["wraps"] and kind == "pipeline" else ""
    say(
        f"  {kind:<8} workers={workers} c={connections:<3} {r['rps']:8.0f} req/s  "
        f"p50 {r['p50_us'] / 1000:6.2f} ms  p99 {r['p99_us'] / 1000:6.2f} ms  "
        f"server CPU {r['cpu_us']:5.0f} µs/req{flags}"
    )


def webhook_bench(
    work: Path,
    traffic: Path,
    *,
    workers: Sequence[int] = (1, 2),
    connections: Sequence[int] = (16, 64),
    seconds: float = 6.0,
    rounds: int = 2,
) -> list[Row]:
    """Measure both servers at every (workers, connections); returns one row per cell."""
    rows = []
    for n in workers:
        db = work / f"webhook-{n}w.db"
        migrate(db)
        log = work / "servers.log"
        with (
            Server(BARE_APP, n, pipeline_env(db), log) as bare,
            Server(PIPELINE_APP, n, pipeline_env(db), log) as full,
        ):
            drivers = {"bare": Driver(bare, traffic, work), "pipeline": Driver(full, traffic, work)}
            for driver in drivers.values():
                driver.run(16, 2)  # warm up: imports, caches, first conversations
            best: dict[tuple[str, int], dict[str, Any]] = {}
            for _ in range(rounds):
                for c in connections:
                    for kind, driver in drivers.items():
                        result = driver.run(c, seconds)
                        _show(kind, n, c, result)
                        best[(kind, c)] = _best(best.get((kind, c)), result)
        stored = stored_count(db, "idempotency")
        ok = drivers["pipeline"].ok
        say(f"  workers={n}: {ok} answers with 200 counted by wrk, {stored} turns stored")
        if stored < ok:
            raise RuntimeError(f"{ok} answers were 200 but only {stored} turns were stored")
        rows += [Row(n, c, best[("bare", c)], best[("pipeline", c)]) for c in connections]
    return rows
