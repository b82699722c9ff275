"""`switchboard stats` on SQLite and PostgreSQL: entered, left to, timed out, stopped, gave
up, median time and completion rate of a flow whose conversations were driven through the
real app; CSV; never creating a database it was only asked to read."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.dev.clock import FakeClock
from bot.observe.config import ObserveSettings
from storage import open_store
from storage.backend import Backend
from storage.stats import BUCKETS, flow_stats, median
from tests.observe.apps import harness


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


async def drive(url: str) -> None:
    """Four people, 30 hours ago: A completes, B times out in ``answered``, C sends STOP
    in ``ask``, D goes quiet in ``ask``."""
    clock = FakeClock(datetime.now(UTC) - timedelta(hours=30))
    async with harness(ObserveSettings(), database_url=url, clock=clock) as h:
        a, b, c, d = (h.phone(f"+1555777000{n}") for n in range(4))
        for phone, texts in ((a, ["hi", "yes", "ok"]), (b, ["hi", "yes"]), (c, ["hi", "STOP"]),
                             (d, ["hi"])):  # fmt: skip
            for text in texts:
                await phone.send(text)
        h.clock.advance(timedelta(minutes=11))
        await h.drain()  # B's no_reply timer fires: answered → done
        h.clock.advance(timedelta(hours=25))


async def test_stats_per_state(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    await drive(url)
    store = open_store(url, auto_migrate=False)
    assert isinstance(store, Backend)
    await store.open()
    try:
        now = datetime.now(UTC)
        program = flow_stats(
            store.dialect, "quiz", now - timedelta(days=7), now, timedelta(hours=24)
        )
        stats = await store.run(program, atomic=False)
    finally:
        await store.close()
    assert (stats.started, stats.completed, stats.completion_rate) == (4, 2, 0.5)
    ask, answered, done = stats.states["ask"], stats.states["answered"], stats.states["done"]
    assert (ask.entered, ask.left, ask.stopped, ask.gave_up, ask.timed_out) == (
        4, {"answered": 2}, 1, 2, 0,
    )  # fmt: skip
    assert (answered.entered, answered.left, answered.timed_out) == (2, {"done": 2}, 1)
    assert (done.entered, done.left, done.handed_off) == (2, {}, 0)
    assert ask.median_seconds is not None and ask.median_seconds <= 1
    assert answered.median_seconds is not None and answered.median_seconds <= 600

    assert await asyncio.to_thread(main, ["stats", "quiz", "--csv", "--database", url]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["state"] for r in rows] == ["ask", "answered", "done"]
    assert rows[1]["timed_out"] == "1" and rows[1]["left_to"] == "done:2"
    assert await asyncio.to_thread(main, ["stats", "quiz", "--database", url]) == 0
    assert "4 started, 2 completed (50.0%)" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["stats", "quiz", "--since", "1h", "--database", url]) == 0
    assert "0 started" in capsys.readouterr().out


def test_median_interpolates_inside_its_bucket() -> None:
    assert median({}) is None
    assert median({0: 2}) == pytest.approx(0.5)
    assert median({BUCKETS.index(600): 1, BUCKETS.index(1800): 1}) == pytest.approx(600)


def test_never_creates_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing.db"
    assert main(["stats", "quiz", "--database", f"sqlite:///{missing}"]) == 2
    assert not missing.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no database at" in err[0]
    assert main(["stats", "quiz", "--since", "soon", "--database", f"sqlite:///{missing}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["switchboard: --since: 'soon' is not a duration like 7d, 12h or 30m"]
    assert not missing.exists()


async def test_the_admin_api_serves_the_statistics() -> None:
    from dataclasses import replace

    from quart import Quart

    from bot import Router, Settings, create_app
    from bot.clock import Clock
    from bot.testing import Harness
    from storage.base import Store
    from tests.observe.apps import Quiz

    token = "alice-token-0123456789abcdef"

    def factory(settings: Settings, *, store: Store, clock: Clock) -> Quart:
        settings = replace(settings, console_tokens=(("alice", token),))
        return create_app([Quiz], Router(default="quiz"), settings, store=store, clock=clock)

    async with Harness(factory) as h:
        await h.phone("+15557770001").send("hi")
        await h.phone("+15557770001").send("yes")
        assert h.app is not None
        client, auth = h.app.test_client(), {"Authorization": f"Bearer {token}"}
        ok = await client.get("/admin/api/flows/quiz/stats?since=30d", headers=auth)
        body = await ok.get_json()
        assert ok.status_code == 200 and body["started"] == 1
        assert [s["state"] for s in body["states"]] == ["answered", "ask"]
        assert body["states"][1]["left"] == {"answered": 1}
        bad = await client.get("/admin/api/flows/quiz/stats?since=soon", headers=auth)
        assert bad.status_code == 422 and "duration" in (await bad.get_json())["error"]
        assert (await client.get("/admin/api/flows/nope/stats", headers=auth)).status_code == 404
        assert (await client.get("/admin/api/flows/quiz/stats")).status_code == 401


@pytest.mark.postgres
def test_never_creates_a_postgres_schema(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import uuid

    import asyncpg

    from bot.testing.databases import with_options

    schema = f"sb_test_{uuid.uuid4().hex[:16]}"
    assert main(["stats", "quiz", "--database", with_options(postgres_url, schema=schema)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "db upgrade" in err[0]

    async def exists() -> bool:
        conn = await asyncpg.connect(postgres_url)
        try:
            found = await conn.fetchval(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema
            )
        finally:
            await conn.close()
        return bool(found)

    assert not asyncio.run(exists())


async def test_a_hand_off_is_counted_in_the_state_it_left() -> None:
    from datetime import timedelta
    from typing import cast

    from bot.testing import Harness
    from flows import build
    from storage.backend import Backend
    from storage.stats import flow_stats

    async with Harness(build) as h:
        helpdesk = "+15550100300"  # flows.helpdesk's own number
        for person in ("+15557654321", "+15557654322"):
            await h.phone(person, to=helpdesk).send("hello")
            await h.phone(person, to=helpdesk).send("agent")
        now = h.clock.now()
        store = cast(Backend, h.store)
        since, idle = now - timedelta(days=1), timedelta(hours=1)
        stats = await store.run(flow_stats(store.dialect, "helpdesk", since, now, idle))
    assert stats.state("ask").handed_off == 2
