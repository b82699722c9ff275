"""/metrics on a real `switchboard serve` with 2 Hypercorn workers sums both workers.

Signed traffic (the real RequestValidator) goes to the server, whose kernel spreads it over
the two workers (more first messages follow, each on a new connection, until both took
turns: a burst can all go to one); every scrape, whichever worker answers it, must show
exactly the counts the traffic caused: requests by route and status, turns, duplicates,
conversations started per flow, consent changes, sends to the fake Twilio API, segments,
and the outbox depth read from the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from bot.dev.fake_twilio import FakeTwilio
from bot.testing.cluster import Cluster
from tests.multi.workload import ECHO, ROOT, Message, upgrade

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "scrape-secret-19"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(
    fake: FakeTwilio, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Cluster, Path]]:
    base = tmp_path_factory.mktemp("metrics")
    database = f"sqlite:///{base / 'switchboard.db'}"
    values = base / "prometheus"
    values.mkdir()
    upgrade(database)
    env = {
        **fake.credentials(),
        "SWITCHBOARD_SEND_RATE": "1000",
        "SWITCHBOARD_OUTBOX_POLL_SECONDS": "0.2",
        "SWITCHBOARD_METRICS": "1",
        "SWITCHBOARD_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(values),
    }
    app = "tests.multi.app:app"
    async with Cluster(1, database, cwd=ROOT, log_dir=base, app=app, env=env, workers=2) as c:
        yield c, values
    assert "Traceback" not in c.instances[0].log(), c.instances[0].log()


async def scrape(session: aiohttp.ClientSession, cluster: Cluster) -> Samples:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with session.get(cluster.instances[0].base + "/metrics", headers=headers) as response:
        assert response.status == 200
        text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def worker_turns(path: Path) -> float:
    """Turns one worker counted, read from its own value file."""
    merged = MultiProcessCollector.merge([str(path)], accumulate=True)  # type: ignore[no-untyped-call]
    turns = (s.value for m in merged for s in m.samples if s.name == "switchboard_turns_total")
    return float(sum(turns))


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def support_messages() -> list[Message]:
    people = [f"+1555020{n:04d}" for n in range(5)]
    return [
        Message(person, f"SM19{p:04d}{m:026d}", body)
        for p, person in enumerate(people)
        for m, body in enumerate(["hi", "1", "menu"])
    ]


def echo_messages() -> list[Message]:
    return [
        Message(f"+1555030{p:04d}", f"SM19e{p:03d}{m:026d}", f"x{p}{m}", ECHO)
        for p in range(3)
        for m in range(2)
    ]


def worker_files(cluster: Cluster, values: Path) -> list[Path]:
    """The counter files of the Hypercorn workers (not the serve process's own)."""
    parent = str(cluster.instances[0].process.pid)  # serve builds the app once itself
    return sorted(p for p in values.glob("counter_*.db") if p.stem.rsplit("_", 1)[-1] != parent)


async def until_both_workers_stepped(cluster: Cluster, values: Path) -> int:
    """More first messages, each on a new connection, until each worker has taken a turn
    (the kernel may hand a burst to one worker); how many were sent."""
    sent = 0
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        for batch in range(30):
            turns = [worker_turns(f) for f in worker_files(cluster, values)]
            if len(turns) == 2 and all(turns):
                return sent
            more = [Message(f"+1555040{batch:02d}{n:02d}", f"SM19b{batch:03d}{n:026d}", "hi")
                    for n in range(8)]  # fmt: skip
            answers = await asyncio.gather(
                *(cluster.post(session, 0, "/twilio", m.params()) for m in more)
            )
            assert all(status == 200 for status, _ in answers), answers
            sent += len(more)
    raise AssertionError("one Hypercorn worker took every request of 30 batches")


async def test_scrapes_of_either_worker_show_the_counts_the_traffic_caused(
    served: tuple[Cluster, Path], fake: FakeTwilio
) -> None:
    cluster, values = served
    support, echo = support_messages(), echo_messages()
    stop = Message("+15550200000", "SM" + "5f" + "0" * 30, "STOP")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        answers = await asyncio.gather(
            *(cluster.post(session, 0, "/twilio", m.params()) for m in support + echo)
        )
        assert all(status == 200 for status, _ in answers), answers
        # a retry of one message (answered from the store) and a STOP, after the rest
        assert (await cluster.post(session, 0, "/twilio", support[0].params()))[0] == 200
        assert (await cluster.post(session, 0, "/twilio", stop.params()))[0] == 200
        url = cluster.instances[0].base + "/twilio"
        async with session.post(url, data=support[1].params()) as unsigned:
            assert unsigned.status == 403
        async with session.get(cluster.instances[0].base + "/metrics") as anonymous:
            assert anonymous.status == 401
        extra = await until_both_workers_stepped(cluster, values)
        for _ in range(200):  # up to 20 s for the outbox worker to send them all
            if len(fake.sent()) >= len(echo):
                break
            await asyncio.sleep(0.1)
        assert len(fake.sent()) == len(echo)
        await asyncio.sleep(0.5)  # the worker records each send after the API answered
        scrapes = [await scrape(session, cluster) for _ in range(8)]

    turns = len(support) + len(echo) + 1 + extra  # the STOP is a turn too
    per_worker = [worker_turns(f) for f in worker_files(cluster, values)]
    assert len(per_worker) == 2 and all(per_worker), per_worker  # both workers took turns
    assert sum(per_worker) == turns + 1, per_worker  # and the duplicate
    for s in scrapes:
        assert value(s, "switchboard_webhook_requests_total", route="/twilio", status="200") == (
            turns + 1
        )
        assert value(s, "switchboard_webhook_requests_total", route="/twilio", status="403") == 1
        assert value(s, "switchboard_turns_total", outcome="ok") == turns
        assert value(s, "switchboard_turns_total", outcome="duplicate") == 1
        assert value(s, "switchboard_duplicates_total") == 1
        assert value(s, "switchboard_turn_seconds_count", outcome="ok") == turns
        assert value(s, "switchboard_turn_phase_seconds_count", phase="commit") == turns
        assert value(s, "switchboard_conversations_started_total", flow="support") == 5 + extra
        assert value(s, "switchboard_conversations_started_total", flow="echo") == 3
        opted_out = value(
            s, "switchboard_consent_changes_total", keyword="opt_out", source="keyword",
            status="opted_out",
        )  # fmt: skip
        assert opted_out == 1, {k: v for k, v in s.items() if "consent" in k[0]}
        assert value(s, "switchboard_sends_total", result="sent", code="") == len(echo)
        assert value(s, "switchboard_segments_total", channel="sms") == len(echo)
        assert value(s, "switchboard_outbox_messages", status="accepted") == len(echo)
        assert value(s, "switchboard_handoffs_waiting") == 0
