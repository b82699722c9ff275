"""Memory with 100,000 queued messages: the outbox lives in the database, not in the process.

    python bench/outbox_memory.py [--count 100000]

Enqueues ``count`` messages into a SQLite outbox, then sends the first 2,000 through the
fake Twilio API with the real client, and prints: enqueue time, database size, the time of
one claim (the due-index query) with the whole backlog pending, and the process's memory
(peak RSS; and the Python heap growth over the backlog, measured with tracemalloc, which is
stopped before sending because it slows the HTTP stack many times over).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.outbox_throughput import messages
from bot.clock import SystemClock
from bot.compliance.gate import Gate
from bot.dev.fake_twilio import FakeTwilio
from bot.outbound.config import Credentials, OutboundSettings
from bot.outbound.rest import TwilioRest
from bot.outbound.worker import OutboxWorker
from storage.sqlite import SQLiteStore


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def heap_mib() -> float:
    return tracemalloc.get_traced_memory()[0] / 2**20


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        path = Path(tmp) / "outbox.db"
        store = SQLiteStore(path)
        await store.open()
        tracemalloc.start()
        base_heap, base_rss = heap_mib(), rss_mib()
        print(f"start: heap {base_heap:.1f} MiB, peak RSS {base_rss:.1f} MiB")
        started = time.perf_counter()
        for chunk in range(0, args.count, 5000):
            await store.enqueue(messages(min(5000, args.count - chunk), f"{chunk:07d}-"))
        enqueue_s = time.perf_counter() - started
        size = _size(Path(tmp)) / 2**20
        print(f"enqueued {args.count:,} in {enqueue_s:.2f} s ({args.count / enqueue_s:,.0f}/s); "
              f"database {size:.1f} MiB")  # fmt: skip
        print(
            f"after enqueue: heap +{heap_mib() - base_heap:.1f} MiB, peak RSS {rss_mib():.1f} MiB"
        )
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        claimed = await store.claim_outbox("probe", now, now + timedelta(seconds=1), 100)
        print(f"one claim of {len(claimed)} with {args.count:,} pending: "
              f"{(time.perf_counter() - t0) * 1000:.1f} ms")  # fmt: skip
        heap = heap_mib() - base_heap
        tracemalloc.stop()  # it slows aiohttp and the twilio client many times over
        async with FakeTwilio() as fake:
            settings = OutboundSettings(
                credentials=(
                credentials := Credentials(
                    fake.account_sid, fake.account_sid, fake.auth_token, fake.base_url
                )
            ),
                rates={"+15550100000": 1e9}, batch=200, lease_seconds=600,
            )  # fmt: skip
            outbox = OutboxWorker(
                store,
                settings,
                SystemClock(),
                Gate(store),
                sender=TwilioRest(credentials, max_concurrency=settings.max_concurrency),
            )
            t0 = time.perf_counter()
            sent = 0
            while sent < args.send:
                sent += await outbox.run_once()
            elapsed = time.perf_counter() - t0
            await outbox.stop()
        print(f"sent {sent:,} of the backlog in {elapsed:.2f} s ({sent / elapsed:,.0f}/s)")
        print(f"heap held for the backlog before sending: +{heap:.1f} MiB; "
              f"peak RSS after sending: {rss_mib():.1f} MiB")  # fmt: skip
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
