"""What Prometheus metrics cost a webhook: the pipeline with metrics off against on.

Both servers are the same ``switchboard serve`` of ``app:app`` on their own SQLite file,
one with ``SWITCHBOARD_METRICS=1`` (so prometheus_client's multiprocess mode writes every
value to a per-worker file); wrk replays the same signed traffic against each in turn,
alternating, and the best round of each is kept (noise only ever slows a run down). The
``on`` server is scraped once at the end, so a broken /metrics fails the bench.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import migrate, say
from bench.server import Server
from bench.webhook import PIPELINE_APP, Driver, pipeline_env

__all__ = ["MetricsRow", "metrics_cost_bench"]


@dataclass
class MetricsRow:
    """One concurrency: the best run with metrics off and on."""

    workers: int
    connections: int
    off: dict[str, Any]
    on: dict[str, Any]

    @property
    def ratio(self) -> float:
        """Requests per second with metrics on over off."""
        return float(self.on["rps"] / self.off["rps"])


def _scrape(server: Server) -> str:
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as answer:
        text: str = answer.read().decode()
    return text


def metrics_cost_bench(
    work: Path, traffic: Path, *, workers: int = 2, connections: Sequence[int] = (16, 64),
    seconds: float = 6.0, rounds: int = 2,
) -> list[MetricsRow]:  # fmt: skip
    """Measure both servers at every concurrency; returns one row per concurrency."""
    log = work / "servers.log"
    dbs = {kind: work / f"metrics-{kind}.db" for kind in ("off", "on")}
    for db in dbs.values():
        migrate(db)
    with (
        Server(PIPELINE_APP, workers, pipeline_env(dbs["off"]), log) as off,
        Server(PIPELINE_APP, workers, {**pipeline_env(dbs["on"]), "SWITCHBOARD_METRICS": "1"},
               log) as on,
    ):  # fmt: skip
        drivers = {"off": Driver(off, traffic, work), "on": Driver(on, traffic, work)}
        for driver in drivers.values():
            driver.run(16, 2)  # warm up
        best: dict[tuple[str, int], dict[str, Any]] = {}
        for _ in range(rounds):
            for c in connections:
                for kind, driver in drivers.items():
                    r = driver.run(c, seconds)
                    say(f"  metrics {kind:<3} workers={workers} c={c:<3} {r['rps']:8.0f} req/s"
                        f"  p50 {r['p50_us'] / 1000:6.2f} ms  p99 {r['p99_us'] / 1000:6.2f} ms"
                        f"  server CPU {r['cpu_us']:5.0f} µs/req")  # fmt: skip
                    if (kind, c) not in best or r["rps"] > best[(kind, c)]["rps"]:
                        best[(kind, c)] = r
        counted = [x for x in _scrape(on).splitlines() if x.startswith("switchboard_turns_total")]
        say(f"  /metrics of the 'on' server: {' '.join(counted)}")
        if not counted:
            raise RuntimeError("the metrics server's /metrics counted no turns")
    return [MetricsRow(workers, c, best[("off", c)], best[("on", c)]) for c in connections]
