"""How many instances on one database: throughput, latency, conflicts and errors, measured.

Starts N real ``switchboard serve`` processes on loopback (bot.testing.cluster), on a fresh
SQLite file or a fresh PostgreSQL schema, and sends signed inbound SMS to them at random
from ``--in-flight`` concurrent client tasks, like Twilio behind a load balancer:

- ``spread``: ``--conversations`` conversations × ``--messages`` messages in random order;
- ``hot``: every message to ONE conversation (the worst case for cross-process ordering).

Prints requests/s, median and p99 latency, non-200 answers, and from the servers' logs how
many steps were redone after a version conflict and how many "database is locked" errors
there were. Everything runs on this machine, so the client's signing shares the CPU with the
servers and the database: compare rows with each other, not with a production host.

    python bench/instances.py --backend sqlite --instances 1 2 3 4
    python bench/instances.py --backend postgres --instances 1 2 3 4 --shape hot
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from bot.testing.cluster import Cluster
from bot.testing.databases import DEFAULT_POSTGRES_URL, drop_schema_async, with_options
from storage.admin import upgrade

ROOT = Path(__file__).resolve().parents[1]
OURS = "+15550100000"
BODIES = ["1", "2", "3", "0", "menu", "A1001", "B2001", "Z9999", "hello", "my parcel is late"]


def params(number: str, sid: str, body: str) -> list[tuple[str, str]]:
    return [
        ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid), ("SmsStatus", "received"),
        ("Body", body), ("To", OURS), ("NumSegments", "1"), ("MessageSid", sid),
        ("AccountSid", "AC" + "0" * 32), ("From", number), ("ApiVersion", "2010-04-01"),
    ]  # fmt: skip


def workload(shape: str, conversations: int, messages: int) -> list[list[tuple[str, str]]]:
    rng = random.Random(7)
    if shape == "hot":
        conversations, messages = 1, conversations * messages
    out = [
        params(f"+1555{c:07d}", f"SM{uuid.uuid4().hex}", rng.choice(BODIES))
        for c in range(conversations)
        for _ in range(messages)
    ]
    rng.shuffle(out)
    return out


async def drive(
    cluster: Cluster, load: list[list[tuple[str, str]]], in_flight: int
) -> dict[str, float]:
    rng, gate = random.Random(1), asyncio.Semaphore(in_flight)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(session: aiohttp.ClientSession, form: list[tuple[str, str]]) -> None:
        async with gate:
            started = time.perf_counter()
            try:
                status, _ = await cluster.post(
                    session, rng.randrange(cluster.size), "/twilio", form
                )
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    timeout = aiohttp.ClientTimeout(total=15)
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(session, form) for form in load))
        elapsed = time.perf_counter() - started
    ms = sorted(t * 1000 for t in latencies)
    return {
        "rps": len(load) / elapsed,
        "p50": statistics.median(ms),
        "p99": ms[int(len(ms) * 0.99) - 1],
        "non200": sum(n for status, n in statuses.items() if status != 200),
    }


def group_rss_mib(pgid: int) -> float:
    """Resident memory of every process in group ``pgid`` (Hypercorn's parent and worker)."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # field 5 of /proc/PID/stat: the process group
                total += int(fields[21]) * 4096  # field 24: resident pages
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


async def measure(args: argparse.Namespace, instances: int) -> str:
    schema = f"sb_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        if args.backend == "sqlite":
            url = f"sqlite:///{tmp}/bench.db" + (f"?synchronous={args.sync}" if args.sync else "")
        else:
            url = with_options(args.postgres_url, schema=schema)
        try:
            await upgrade(url)
            load = workload(args.shape, args.conversations, args.messages)
            async with Cluster(instances, url, cwd=ROOT, log_dir=Path(tmp)) as cluster:
                figures = await drive(cluster, load, args.in_flight)
                logs = "".join(instance.log() for instance in cluster.instances)
                rss = max(group_rss_mib(instance.process.pid) for instance in cluster.instances)
        finally:
            if args.backend == "postgres":
                await drop_schema_async(args.postgres_url, schema)
    redone = logs.count("version conflict")
    locked = logs.count("database is locked")
    return (
        f"{args.backend:8s} {args.shape:6s} {instances} instance(s): {len(load)} requests, "
        f"{figures['rps']:.0f}/s, p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, "
        f"non-200 {figures['non200']:.0f}, steps redone {redone}, 'database is locked' {locked}, "
        f"RSS per instance {rss:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--shape", choices=["spread", "hot"], default="spread")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--sync", choices=["normal", "full"], help="SQLite synchronous= mode")
    args = parser.parse_args()
    for n in args.instances:
        print(asyncio.run(measure(args, n)), flush=True)


if __name__ == "__main__":
    main()
