"""Many instances on one database: three real `switchboard serve` processes on loopback.

One cluster per backend (PostgreSQL, then one SQLite file shared by the three), each instance
running the outbox worker against the fake Twilio REST API (a real HTTP server on 127.0.0.1,
talked to by the real `twilio` client). Requests are signed with the real RequestValidator
and go to a random instance, like Twilio behind a load balancer; 10% are retried with the
same MessageSid, possibly while the first is still in flight. The tests run in order:

1. 50 conversations × 20 messages to the support menu in random order: every message is a
   step exactly once, and a serial in-process replay in stored order gives the same state,
   data, log and replies (retries included).
2. 30 conversations × 10 messages to the echo flow, each queueing one outbound message: the
   outbox drains with every message sent exactly once (claims never shared).
3. Both again at once, with one instance killed (SIGKILL) a third of the way in: the client
   retries what failed on the others, nothing answered 200 is lost, and the dead worker's
   claimed messages, once their lease runs out, are sent by the others exactly once (they
   first ask the API whether the dead one had sent them). Every echo recipient is busy: the
   API already holds 150 other messages to each (issue 16: the lookup used to read only the
   newest 50), and 150 more arrive during the run.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.dev.fake_twilio import FakeTwilio
from bot.dev.harness import Harness
from bot.testing.cluster import Cluster
from bot.testing.databases import drop_schema_async, with_options
from flows import build
from storage import open_store
from storage.records import LogEntry
from tests.multi.workload import ECHO, ROOT, SUPPORT, Message, Run, drive, upgrade, workload

pytestmark = pytest.mark.asyncio(loop_scope="module")

BODIES = ["1", "2", "3", "0", "menu", "A1001", "B2001", "Z9999", "hello", "my parcel is late"]
LEASE_S = 3
DRAIN_TIMEOUT_S = 30


def support(seed: int, first: int, people: int = 50) -> tuple[list[Message], list[Message]]:
    """``people`` × 20 support-menu messages, shuffled, and 10% of them sent a second time."""
    return workload(seed, people, 20, lambda rng, c, m: rng.choice(BODIES), first=first, to=SUPPORT)


def echoes(seed: int) -> tuple[list[Message], list[Message]]:
    """30 × 10 messages to the echo flow, each body unique."""
    return workload(seed, 30, 10, lambda rng, c, m: f"c{c} m{m} s{seed}", to=ECHO)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["postgres", "sqlite"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A fresh database for the module's cluster: a PostgreSQL schema, or a SQLite file."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('cluster') / 'switchboard.db'}"
        return
    server = str(request.getfixturevalue("postgres_url"))
    schema = f"sb_test_{uuid.uuid4().hex[:16]}"
    yield with_options(server, schema=schema)
    await drop_schema_async(server, schema)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake(database: str) -> AsyncIterator[FakeTwilio]:
    """A fake Twilio API per cluster (so each backend's sends are counted apart)."""
    async with FakeTwilio() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(
    database: str, fake: FakeTwilio, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    upgrade(database)
    env = {
        **fake.credentials(),
        "SWITCHBOARD_SEND_RATE": "1000",  # the rate limiter is not under test here
        "SWITCHBOARD_OUTBOX_LEASE_SECONDS": str(LEASE_S),  # a dead worker's claims come back
        "SWITCHBOARD_OUTBOX_POLL_SECONDS": "0.2",
        "SWITCHBOARD_REST_TIMEOUT": "0.75",  # a lease must be 4x the REST timeout
        # an attempt the dead instance left unanswered is looked up 1 s after it started
        "SWITCHBOARD_SETTLE_SECONDS": "1",
    }
    logs = tmp_path_factory.mktemp("logs")
    app = "tests.multi.app:app"
    async with Cluster(3, database, cwd=ROOT, log_dir=logs, app=app, env=env) as running:
        yield running
    for instance in running.instances:
        if not instance.killed:
            assert "Traceback" not in instance.log(), instance.log()


# -- checks -------------------------------------------------------------------------------


def strip_time(entries: list[LogEntry]) -> list[tuple[object, ...]]:
    return [
        (e.direction, e.kind, e.body, e.sid, e.state_before, e.state_after, e.media, e.meta)
        for e in entries
    ]


async def check_against_serial_replay(url: str, run: Run, messages: list[Message]) -> None:
    """Each message one step; a serial replay in stored order gives the same everything."""
    store = open_store(url)
    await store.open()
    try:
        numbers = sorted({m.number for m in messages})
        logs = {n: await store.log(f"sms:{SUPPORT}:{n}") for n in numbers}
        by_sid = {m.sid: m for m in messages}
        steps = {n: [e.sid or "" for e in log if e.direction == "in"] for n, log in logs.items()}
        all_steps = [sid for sids in steps.values() for sid in sids]
        assert len(all_steps) == len(set(all_steps)), "a message was stepped twice"
        assert set(all_steps) == set(by_sid), "a message answered 200 was lost"
        for sid in by_sid:
            answers = run.answers[sid]
            assert len(set(answers)) == 1, f"{sid}: a retry got a different answer: {answers}"
        async with Harness(build) as serial:
            for number, sids in steps.items():
                phone = serial.phone(number, SUPPORT)
                for sid in sids:
                    reply = await phone.send(by_sid[sid].body, sid=sid)
                    assert reply.body == run.answers[sid][0], f"{number} {sid}: reply differs"
                key = f"sms:{SUPPORT}:{number}"
                want, got = await serial.store.conversation(key), await store.conversation(key)
                assert want is not None and got is not None
                assert (got.state, got.data, got.version) == (want.state, want.data, want.version)
                assert strip_time(logs[number]) == strip_time(await serial.store.log(key))
    finally:
        await store.close()


async def check_sent_once(fake: FakeTwilio, messages: list[Message], settle: float = 0.5) -> float:
    """Wait for every echo to reach the API, then ``settle`` seconds more, and check none
    went twice; returns the wait."""
    want = sorted(f"echo {m.body}" for m in messages)
    started = time.monotonic()

    def sent() -> list[str]:
        return sorted(m.body for m in fake.sent() if m.body in set(want))

    for _ in range(int(DRAIN_TIMEOUT_S / 0.2)):
        if sent() == want:
            break
        await asyncio.sleep(0.2)
    waited = time.monotonic() - started
    await asyncio.sleep(settle)
    bodies = sent()
    assert len(bodies) == len(set(bodies)), "an outbound message was sent twice"
    assert bodies == want, f"the outbox did not drain: {len(bodies)} of {len(want)} sent"
    assert {m.from_ for m in fake.sent()} == {ECHO}
    return waited


# -- the tests, in order ------------------------------------------------------------------


async def test_each_message_is_one_step_in_order(cluster: Cluster, database: str) -> None:
    messages, retried = support(11, first=0)
    started = time.monotonic()
    run = await drive(cluster, messages, retried, seed=11)
    elapsed = time.monotonic() - started
    assert run.failures == 0
    await check_against_serial_replay(database, run, messages)
    requests = len(messages) + len(retried)
    print(f"\n{database.split(':')[0]}: {requests} requests in {elapsed:.2f}s "
          f"({requests / elapsed:.0f}/s) over 3 instances")  # fmt: skip


async def test_the_outbox_drains_once_across_instances(
    cluster: Cluster, fake: FakeTwilio, database: str
) -> None:
    messages, retried = echoes(5)
    run = await drive(cluster, messages, retried, seed=5)
    assert run.failures == 0 and len(run.answers) == len(messages)
    waited = await check_sent_once(fake, messages)
    print(f"\n{database.split(':')[0]}: {len(messages)} queued messages all sent "
          f"{waited:.2f}s after the last answer")  # fmt: skip


async def test_killing_an_instance_mid_run_loses_nothing(
    cluster: Cluster, fake: FakeTwilio, database: str
) -> None:
    menu, menu_retried = support(23, first=1000, people=25)
    echo, echo_retried = echoes(9)
    messages = [m for pair in zip(menu, echo, strict=False) for m in pair] + menu[len(echo) :]
    people = {m.number for m in echo}

    def seed(body: str) -> None:
        for person in people:
            fake.seed(person, ECHO, 150, body)

    seed("earlier {n}")  # busy recipients, before and during the run
    busy = asyncio.get_running_loop().call_later(1.0, seed, "meanwhile {n}")
    run = await drive(
        cluster, messages, menu_retried + echo_retried, seed=23, kill_after=len(messages) // 3
    )
    assert cluster.alive() == [1, 2]
    assert run.failures > 0, "the kill hit no request in flight"
    await check_against_serial_replay(database, run, menu)
    busy.cancel()
    await check_sent_once(fake, echo, settle=LEASE_S + 2)  # past lease + settle: a resend shows
