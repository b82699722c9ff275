"""Many instances on one database: three real `switchboard serve` processes on loopback.

50 conversations × 20 signed messages go out concurrently, in random order, each to a random
instance, with 10% of them retried (same MessageSid, to another instance, possibly while the
first is still in flight). Then:

- every message is a step exactly once in its conversation's log (none lost, none twice);
- replaying each conversation's messages serially, in the order they were stored, through
  the app in process gives the same final state, data and log, and the same reply that the
  cluster answered for every message and for every retry;
- with one instance killed (SIGKILL) mid-run, the client retries what failed on the others
  (as a load balancer would), and nothing that was answered 200 is lost.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.testing.cluster import Cluster
from bot.testing.harness import Harness
from flows import build
from storage import LogEntry, Store, open_store

ROOT = Path(__file__).resolve().parents[2]
OURS = "+15550100000"
CONVERSATIONS, MESSAGES, RETRIED = 50, 20, 0.10
IN_FLIGHT = 24
BODIES = ["1", "2", "3", "0", "menu", "A1001", "B2001", "Z9999", "hello", "my parcel is late"]
RUN_TIMEOUT_S = 45


@dataclass(frozen=True)
class Message:
    number: str
    sid: str
    body: str

    def params(self) -> list[tuple[str, str]]:
        return [
            ("ToCountry", "US"), ("SmsMessageSid", self.sid), ("NumMedia", "0"),
            ("SmsSid", self.sid), ("SmsStatus", "received"), ("Body", self.body),
            ("To", OURS), ("NumSegments", "1"), ("MessageSid", self.sid),
            ("AccountSid", "AC" + "0" * 32), ("From", self.number), ("ApiVersion", "2010-04-01"),
        ]  # fmt: skip


@dataclass
class Run:
    """What the fake Twilio saw: the answer to every request, by MessageSid."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    failures: int = 0  # requests that got no answer (connection refused or reset)


def workload(seed: int) -> tuple[list[Message], list[Message]]:
    """Every message once, shuffled, and the 10% sent a second time."""
    rng = random.Random(seed)
    messages = [
        Message(f"+1555{c:07d}", f"SM{seed:08x}{c:04d}{m:020d}", rng.choice(BODIES))
        for c in range(CONVERSATIONS)
        for m in range(MESSAGES)
    ]
    rng.shuffle(messages)
    return messages, rng.sample(messages, int(len(messages) * RETRIED))


async def deliver(
    cluster: Cluster, session: aiohttp.ClientSession, message: Message, run: Run, rng: random.Random
) -> None:
    """Post like Twilio behind a load balancer: to a live instance, again on failure."""
    for _attempt in range(10):
        target = rng.choice(cluster.alive())
        try:
            status, body = await cluster.post(session, target, "/twilio", message.params())
        except (TimeoutError, aiohttp.ClientError):
            run.failures += 1
            await asyncio.sleep(0.05)
            continue
        assert status == 200, f"{message} answered {status}: {body}"
        run.answers.setdefault(message.sid, []).append(body)
        return
    raise AssertionError(f"{message} was never answered")


async def drive(cluster: Cluster, seed: int, kill_after: int | None = None) -> Run:
    """Send the workload; kill instance 0 once ``kill_after`` messages were answered."""
    messages, retried = workload(seed)
    rng, run, gate = random.Random(seed + 1), Run(), asyncio.Semaphore(IN_FLIGHT)
    timeout = aiohttp.ClientTimeout(total=15)  # Twilio's own limit for a webhook

    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(message: Message, delay: float = 0.0) -> None:
            await asyncio.sleep(delay)
            async with gate:
                await deliver(cluster, session, message, run, rng)
                if kill_after is not None and len(run.answers) == kill_after:
                    cluster.kill(0)

        jobs = [one(m) for m in messages]
        jobs += [one(m, delay=rng.uniform(0, 1.0)) for m in retried]
        await asyncio.wait_for(asyncio.gather(*jobs), RUN_TIMEOUT_S)
    return run


async def stored(url: str) -> tuple[dict[str, list[LogEntry]], Store]:
    store = open_store(url)
    await store.open()
    numbers = {m.number for m in workload(0)[0]}
    logs = {n: await store.log(f"sms:{OURS}:{n}") for n in numbers}
    return logs, store


def strip_time(entries: list[LogEntry]) -> list[tuple[object, ...]]:
    return [
        (e.direction, e.kind, e.body, e.sid, e.state_before, e.state_after, e.media, e.meta)
        for e in entries
    ]


async def check_against_serial_replay(url: str, run: Run, seed: int) -> None:
    messages, _ = workload(seed)
    logs, store = await stored(url)
    try:
        by_sid = {m.sid: m for m in messages}
        steps = {n: [e.sid for e in log if e.direction == "in"] for n, log in logs.items()}
        all_steps = [sid for sids in steps.values() for sid in sids]
        assert len(all_steps) == len(set(all_steps)), "a message was stepped twice"
        assert set(all_steps) == set(by_sid), "a message answered 200 was lost"
        assert set(run.answers) == set(by_sid)
        for sid, answers in run.answers.items():
            assert len(set(answers)) == 1, f"{sid}: a retry got a different answer: {answers}"
        async with Harness(build) as serial:
            for number, sids in steps.items():
                phone = serial.phone(number, OURS)
                for sid in sids:
                    reply = await phone.send(by_sid[sid].body, sid=sid)
                    assert reply.body == run.answers[sid][0], f"{number} {sid}: reply differs"
                key = f"sms:{OURS}:{number}"
                want, got = await serial.store.conversation(key), await store.conversation(key)
                assert want is not None and got is not None
                assert (got.state, got.data, got.version) == (want.state, want.data, want.version)
                assert strip_time(logs[number]) == strip_time(await serial.store.log(key))
    finally:
        await store.close()


def upgrade(url: str) -> None:
    """`switchboard db upgrade`, as an operator runs it before starting the instances."""
    command = [sys.executable, "-m", "bot.cli", "db", "upgrade", "--database", url]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.fixture(params=["postgres", "sqlite"])
def database(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
async def cluster(database: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    upgrade(database)
    async with Cluster(3, database, cwd=ROOT, log_dir=tmp_path) as running:
        yield running
    for instance in running.instances:
        if not instance.killed:
            assert "Traceback" not in instance.log(), instance.log()


async def test_three_instances_step_each_message_once_in_order(
    cluster: Cluster, database: str
) -> None:
    started = time.monotonic()
    run = await drive(cluster, seed=11)
    elapsed = time.monotonic() - started
    assert run.failures == 0
    await check_against_serial_replay(database, run, seed=11)
    requests = CONVERSATIONS * MESSAGES * (1 + RETRIED)
    print(f"\n{database.split(':')[0]}: {requests:.0f} requests in {elapsed:.2f}s "
          f"({requests / elapsed:.0f}/s) over 3 instances")  # fmt: skip


async def test_killing_an_instance_mid_run_loses_nothing_answered(
    cluster: Cluster, database: str
) -> None:
    run = await drive(cluster, seed=23, kill_after=CONVERSATIONS * MESSAGES // 3)
    assert cluster.alive() == [1, 2]
    assert run.failures > 0, "the kill hit no request in flight"
    await check_against_serial_replay(database, run, seed=23)
