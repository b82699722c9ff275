"""A rolling deploy: old and new code serve one database side by side (PostgreSQL, and one
SQLite file shared by two processes).

Two real ``switchboard serve`` processes on loopback: one runs ``tests.versions.app_v1``
(the signup flow at version 1), the other ``tests.versions.app_v2`` (version 2, which renames
and removes states and upgrades the data). Each message of 24 conversations goes to a random
instance, as behind a load balancer in the middle of a rolling restart; an answer of 503 is
retried (as Twilio retries) on a random instance again, until the new code takes it.

What must hold: a conversation the new code has stepped is never stepped by the old code
again (every old-code request for it is refused with 503 and changes nothing), the stored
flow version never goes down, each conversation is migrated at most once, none is lost, and
every message answered 200 is in the log exactly once. (A person stops writing when the flow
says it is done: a closed conversation starts afresh on whichever code takes it.)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from bot.testing.cluster import Cluster
from bot.testing.databases import drop_schema_async, with_options
from storage import open_store
from tests.multi.workload import ROOT, Message, upgrade

pytestmark = pytest.mark.asyncio(loop_scope="module")

OURS = "+15550100000"
PEOPLE = 24
BODIES = ["hi", "Ada Lovelace", "555", "ada@example.com"]
V1_ONLY = {"Your phone number?", "Welcome! What's your name?"}  # what only v1 says
MAX_ATTEMPTS = 40


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["postgres", "sqlite"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A fresh PostgreSQL schema (or SQLite file shared by both processes), upgraded as an
    operator does before starting instances."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('rolling-db') / 'switchboard.db'}"
        upgrade(url)
        yield url
        return
    server = str(request.getfixturevalue("postgres_url"))
    schema = f"sb_test_roll_{random.randrange(16**12):012x}"
    url = with_options(server, schema=schema)
    upgrade(url)
    yield url
    await drop_schema_async(server, schema)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def instances(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Cluster, Cluster]]:
    env = {"SWITCHBOARD_OUTBOX_WORKER": "0"}
    old, new = (
        Cluster(1, database, cwd=ROOT, log_dir=tmp_path_factory.mktemp(f"v{v}"), env=env,
                app=f"tests.versions.app_v{v}:app")
        for v in (1, 2)
    )  # fmt: skip
    async with old, new:
        yield old, new
    for cluster in (old, new):
        assert "Traceback" not in cluster.instances[0].log(), cluster.instances[0].log()


async def _converse(
    session: aiohttp.ClientSession, old: Cluster, new: Cluster, person: int, rng: random.Random,
    seen: list[tuple[int, str, int]],
) -> None:  # fmt: skip
    """One person's messages in order, each to a random instance until one answers 200; it
    stops when the flow is done (v2 finishes one message sooner: a closed conversation would
    start afresh, on whichever code takes it)."""
    number = f"+1555300{person:04d}"
    for index, body in enumerate(BODIES):
        message = Message(number, f"SM{person:04d}{index:028d}", body, OURS)
        for _attempt in range(MAX_ATTEMPTS):
            side = rng.choice((1, 2))
            status, answer = await (old if side == 1 else new).post(
                session, 0, "/twilio", message.params()
            )
            seen.append((person, f"v{side}", status))
            if status == 200:
                break
            assert status == 503, f"{message} answered {status}: {answer}"
            await asyncio.sleep(0.01)
        else:
            raise AssertionError(f"{message} was never answered")
        if "All set" in answer:
            return


async def test_old_code_never_steps_a_conversation_new_code_has_stepped(
    instances: tuple[Cluster, Cluster], database: str
) -> None:
    old, new = instances
    rng = random.Random(14)
    seen: list[tuple[int, str, int]] = []
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(
            *(_converse(session, old, new, p, random.Random(rng.random()), seen)
              for p in range(PEOPLE))
        )  # fmt: skip
    versions = {}
    for person in range(PEOPLE):
        mine = [(side, status) for p, side, status in seen if p == person]
        stepped = [i for i, (side, status) in enumerate(mine) if side == "v2" and status == 200]
        first_new = stepped[0] if stepped else len(mine)
        after = mine[first_new + 1 :]
        assert all(status == 503 for side, status in after if side == "v1"), mine
        assert all(status == 200 for side, status in mine[: first_new + 1] if side == "v1"), mine
        versions[person] = 2 if stepped else 1
    refused = sum(1 for _, side, status in seen if side == "v1" and status == 503)
    assert refused > 0, "the scenario never had old code meet a migrated conversation"
    assert 2 in versions.values()
    await _check_store(database, versions, seen)


async def _check_store(
    url: str, versions: dict[int, int], seen: list[tuple[int, str, int]]
) -> None:
    store = open_store(url)
    await store.open()
    try:
        for person in range(PEOPLE):
            key = f"sms:{OURS}:+1555300{person:04d}"
            stored = await store.conversation(key)
            assert stored is not None and stored.flow_version == versions[person], stored
            log = await store.log(key)
            inbound = [e.sid for e in log if e.direction == "in" and e.sid]
            answered = sum(1 for p, _, status in seen if p == person and status == 200)
            assert len(inbound) == len(set(inbound)) == answered, log
            assert sum(e.kind == "migrated" for e in log) <= 1, log
            assert not [e for e in log if e.kind == "lost"], log
            # once the new code answered, the old code's texts never come back
            replies = [e.body for e in log if e.direction == "out"]
            new_at = next((i for i, r in enumerate(replies) if "first name" in r or "address" in r
                           or r.startswith("All set")), len(replies))  # fmt: skip
            assert not set(replies[new_at:]) & V1_ONLY, replies
    finally:
        await store.close()
