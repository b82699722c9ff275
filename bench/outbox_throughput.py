"""Outbox throughput against the fake Twilio API, at several configured rates.

    python bench/outbox_throughput.py                       # 10 s per rate: 10, 50, 200 msg/s
    python bench/outbox_throughput.py --duration 30 --rates 25   # the 30-second measurement
    python bench/outbox_throughput.py --rates 0              # 0 = no rate limit: the ceiling

Everything is real except Twilio: the SQLite outbox (WAL file in a temp dir), the consent and
window gate at send time, the real ``twilio`` client on aiohttp, and the fake REST API on
127.0.0.1. The rate is measured from the fake API's acceptance times: the sustained rate
over the whole run, and the most messages accepted in any one-second window.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import SystemClock
from bot.compliance.gate import Gate
from bot.dev.fake_twilio import FakeTwilio, rate
from bot.outbound.config import Credentials, OutboundSettings
from bot.outbound.rest import TwilioRest
from bot.outbound.worker import OutboxWorker
from storage.records import OutboundMessage, Purpose
from storage.sqlite import SQLiteStore

SENDER = "+15550100000"


def messages(count: int, prefix: str) -> list[OutboundMessage]:
    now = datetime.now(UTC)
    return [
        OutboundMessage(
            id=f"OB{prefix}{i:08d}",
            channel="sms",
            ours=SENDER,
            theirs=f"+1555{i:07d}",
            body=f"Reminder {i}: your appointment is tomorrow at 10:00.",
            due_at=now,
            created_at=now,
            purpose=Purpose.SEND,
        )
        for i in range(count)
    ]


def busiest_second(times: list[float]) -> int:
    """The most acceptances in any one-second window."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run(configured: float, duration: float, concurrency: int, folder: Path) -> None:
    count = int(configured * duration) if configured else 2000
    store = SQLiteStore(folder / f"bench-{configured:g}.db")
    await store.open()
    async with FakeTwilio() as fake:
        rates = {SENDER: configured} if configured else {SENDER: 1e9}
        settings = OutboundSettings(
            credentials=(
                credentials := Credentials(
                    fake.account_sid, fake.account_sid, fake.auth_token, fake.base_url
                )
            ),
            rates=rates, max_concurrency=concurrency, batch=200, lease_seconds=600,
        )  # fmt: skip
        outbox = OutboxWorker(
            store,
            settings,
            SystemClock(),
            Gate(store),
            sender=TwilioRest(credentials, max_concurrency=settings.max_concurrency),
        )
        await store.enqueue(messages(count, f"{configured:g}-"))
        started = time.perf_counter()
        await outbox.drain()
        elapsed = time.perf_counter() - started
        await outbox.stop()
        sent = fake.sent()
    await store.close()
    times = [m.accepted_at for m in sent]
    sustained = rate(sent)
    shown = f"{configured:g}" if configured else "unlimited"
    deviation = f"{(sustained - configured) / configured:+.2%}" if configured else "-"
    print(
        f"{shown:>10} {len(sent):>7} {elapsed:>8.2f} {sustained:>10.2f} {deviation:>9} "
        f"{busiest_second(times):>12}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 50, 200, 0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate")
    parser.add_argument("--concurrency", type=int, default=10, help="REST requests in flight")
    args = parser.parse_args()
    print(f"outbox -> fake Twilio, SQLite, real twilio client; concurrency {args.concurrency}")
    print(f"{'rate/s':>10} {'sent':>7} {'seconds':>8} {'sustained':>10} {'vs rate':>9} "
          f"{'max in 1 s':>12}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        for configured in args.rates:
            await run(configured, args.duration, args.concurrency, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
