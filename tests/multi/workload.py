"""Driving a cluster like Twilio behind a load balancer: signed messages, retries, a kill."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.dev.fake_twilio import TEST_ACCOUNT_SID
from bot.testing.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
OURS = SUPPORT = "+15550100000"  # our number for the support menu (tests/multi/app.py)
ECHO = "+15550100001"  # our number for the echo flow
IN_FLIGHT = 24
RUN_TIMEOUT_S = 45


@dataclass(frozen=True)
class Message:
    number: str
    sid: str
    body: str
    to: str = OURS

    def params(self) -> list[tuple[str, str]]:
        return [
            ("ToCountry", "US"), ("SmsMessageSid", self.sid), ("NumMedia", "0"),
            ("SmsSid", self.sid), ("SmsStatus", "received"), ("Body", self.body),
            ("To", self.to), ("NumSegments", "1"), ("MessageSid", self.sid),
            ("AccountSid", TEST_ACCOUNT_SID), ("From", self.number), ("ApiVersion", "2010-04-01"),
        ]  # fmt: skip


@dataclass
class Run:
    """What the fake Twilio saw: the answer to every request, by MessageSid."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    failures: int = 0  # requests that got no answer (connection refused or reset)


def workload(
    seed: int, conversations: int, messages: int, body: Callable[[random.Random, int, int], str],
    *, retried: float = 0.10, first: int = 0, to: str = OURS,
) -> tuple[list[Message], list[Message]]:  # fmt: skip
    """Every message once, shuffled, and a share of them (``retried``) sent a second time.

    People are numbered from ``first``, so two workloads can keep to separate conversations.
    """
    rng = random.Random(seed)
    out = [
        Message(f"+1555{first + c:07d}", f"SM{seed:08x}{c:04d}{m:020d}", body(rng, c, m), to)
        for c in range(conversations)
        for m in range(messages)
    ]
    rng.shuffle(out)
    return out, rng.sample(out, int(len(out) * retried))


KillHook = Callable[[int], Awaitable[None]]


async def deliver(
    cluster: Cluster, session: aiohttp.ClientSession, message: Message, run: Run,
    rng: random.Random, sent: KillHook | None = None,
) -> None:  # fmt: skip
    """Post like Twilio behind a load balancer: to a live instance, again on failure.

    ``sent(target)`` runs once the request is on its way (the kill test kills there).
    """
    for _attempt in range(10):
        target = rng.choice(cluster.alive())
        post = asyncio.ensure_future(cluster.post(session, target, "/twilio", message.params()))
        if sent is not None:
            await sent(target)
        try:
            status, body = await post
        except (TimeoutError, aiohttp.ClientError):
            run.failures += 1
            await asyncio.sleep(0.05)
            continue
        assert status == 200, f"{message} answered {status}: {body}"
        run.answers.setdefault(message.sid, []).append(body)
        return
    raise AssertionError(f"{message} was never answered")


async def drive(
    cluster: Cluster, messages: list[Message], retried: list[Message], seed: int,
    kill_after: int | None = None,
) -> Run:  # fmt: skip
    """Send every message (retries at random moments).

    With ``kill_after``, once that many messages were answered, instance 0 is killed just
    after a request was sent to it, so the kill always hits work in flight.
    """
    rng, run, gate = random.Random(seed + 1), Run(), asyncio.Semaphore(IN_FLIGHT)
    timeout = aiohttp.ClientTimeout(total=15)  # Twilio's own limit for a webhook

    async def kill_now(target: int) -> None:
        due = kill_after is not None and len(run.answers) >= kill_after
        if due and target == 0 and 0 in cluster.alive():
            await asyncio.sleep(0)  # let the request go out
            cluster.kill(0)

    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(message: Message, delay: float = 0.0) -> None:
            await asyncio.sleep(delay)
            async with gate:
                await deliver(cluster, session, message, run, rng, kill_now)

        jobs = [one(m) for m in messages]
        jobs += [one(m, delay=rng.uniform(0, 1.0)) for m in retried]
        await asyncio.wait_for(asyncio.gather(*jobs), RUN_TIMEOUT_S)
    return run


def upgrade(url: str) -> None:
    """`switchboard db upgrade`, as an operator runs it before starting the instances."""
    command = [sys.executable, "-m", "bot.cli", "db", "upgrade", "--database", url]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"db upgrade failed: {done.stderr}")
