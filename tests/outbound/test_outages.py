"""Outages are survived: Twilio down for minutes, 5xx storms, proxies in the way.

Regressions for issue 16: Twilio unreachable for ~30 s marked queued messages ``failed`` for
good; a proxy's 422 was stored as Twilio error 422; a REST base URL with a path was not
reachable. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.compliance.gate import Gate
from bot.dev.fake_twilio import FakeTwilio
from bot.dev.signing import TEST_AUTH_TOKEN, TEST_PUBLIC_URL
from bot.outbound.config import Credentials
from bot.outbound.rest import TwilioRest
from bot.outbound.worker import OutboxWorker
from bot.testing import FakeClock, Harness
from storage import open_store
from storage.records import Purpose
from tests.outbound.conftest import CALLER, OURS, make_harness, settings

PEOPLE = [f"+1555000{n:04d}" for n in range(4)]


def fake(h: Harness) -> FakeTwilio:
    assert h.twilio is not None
    return h.twilio


async def queue(h: Harness, people: list[str]) -> None:
    for person in people:
        await h.phone(person).send("hi")
        await h.phone(person).send("ping")


async def attempts(h: Harness, people: list[str]) -> int:
    total = 0
    for row in await h.store.delivery_report("theirs"):
        total += row.total if row.group in people else 0
    return total


async def report(h: Harness) -> set[str]:
    return {s for row in await h.store.delivery_report("theirs") for s in row.by_status}


async def test_twilio_down_for_minutes_waits_then_sends_each_message_once(
    database_url: str,
) -> None:
    async with make_harness(database_url=database_url) as h:
        await queue(h, PEOPLE)
        await fake(h).go_down()
        seen: set[str] = set()
        for _ in range(60):  # ten minutes of outage, 10 s at a time
            await h.drain()
            seen |= await report(h)
            h.clock.advance(timedelta(seconds=10))
        assert "waiting for Twilio" in seen and "failed" not in seen
        assert h.runtime.outbox.circuit.is_open
        await fake(h).come_back()
        for _ in range(40):
            await h.drain()
            if len(fake(h).sent()) == len(PEOPLE):
                break
            h.clock.advance(timedelta(seconds=30))
        assert sorted(m.to for m in fake(h).sent()) == PEOPLE  # each exactly once
        assert await report(h) == {"queued"}
        # The circuit kept the outage from burning every message's retries: a handful of
        # attempts to open it, then one probe per open period.
        tried = 0
        for message_id in await outbox_ids(h):
            tried += [e.event for e in await h.store.outbox_history(message_id)].count("attempt")
        assert tried <= 5 + 8 + len(PEOPLE)


async def test_a_5xx_storm_is_retried_until_the_purposes_validity_not_failed_early(
    database_url: str,
) -> None:
    short = settings(validity={Purpose.SEND: 600.0}, circuit_threshold=10**6)
    async with make_harness(database_url=database_url, outbound_settings=short) as h:
        await queue(h, [CALLER])
        created = h.clock.now()
        fake(h).fail_next(status=503, times=10**6)
        states = []
        for _ in range(100):
            await h.drain()
            states.append(await report(h))
            if "failed" in states[-1]:
                break
            h.clock.advance(timedelta(seconds=20))
        assert "failed" in states[-1] and "waiting for Twilio" in states[-2]
        assert timedelta(minutes=5) <= h.clock.now() - created <= timedelta(minutes=10)


async def test_a_proxy_error_body_is_not_stored_as_a_twilio_error_code(database_url: str) -> None:
    async with make_harness(database_url=database_url) as h:
        await queue(h, [CALLER])
        fake(h).fail_next(status=422, foreign=True)
        await h.drain()
        [message_id] = await outbox_ids(h, "failed")
        message = await h.store.outbox_message(message_id)
        assert message is not None and message.status == "failed"
        assert (message.error_code, message.http_status) == (None, 422)
        fake(h).fail_next(status=400, code=21211)
        h.clock.advance(timedelta(seconds=1))
        await queue(h, [PEOPLE[0]])
        await h.drain()
        [_, twilio_error] = await outbox_ids(h, "failed")
        message = await h.store.outbox_message(twilio_error)
        assert message is not None and (message.error_code, message.http_status) == (21211, 400)


async def outbox_ids(h: Harness, status: str | None = None) -> list[str]:
    """The stored messages' ids (of ``status``), in the order they were queued."""
    run = getattr(h.store, "_run", None)
    if run is not None:  # SQLite

        def read(conn):  # type: ignore[no-untyped-def]
            sql = "SELECT id FROM outbox WHERE status = coalesce(?, status) ORDER BY rowid"
            return [r[0] for r in conn.execute(sql, (status,)).fetchall()]

        return await run(read)  # type: ignore[no-any-return]
    rows = await h.store._pool.fetch(  # type: ignore[attr-defined]
        "SELECT id FROM outbox WHERE status = coalesce($1, status) ORDER BY created_at, id",
        status,
    )
    return [r["id"] for r in rows]


async def test_a_rest_base_url_with_a_path_prefix_works(database_url: str) -> None:
    clock = FakeClock()
    async with FakeTwilio(clock=clock.now, prefix="/proxy/twilio") as proxied:
        assert proxied.base_url.endswith("/proxy/twilio")
        slow = settings(request_timeout=0.2, settle_seconds=60.0, lookup_page_size=2)
        async with make_harness(
            database_url=database_url, twilio=proxied, clock=clock, outbound_settings=slow
        ) as h:
            proxied.seed(CALLER, OURS, 5)  # the lookup pages through the prefix too
            await queue(h, [CALLER])
            proxied.fail_next(delay=0.6, create_anyway=True)
            await h.drain()
            await proxied.wait_sent(6)
            h.clock.advance(timedelta(seconds=61))
            await h.drain()
            assert [m.body for m in proxied.sent(CALLER)].count("pong") == 1
            assert proxied.lists >= 3 and await report(h) == {"queued"}


async def test_every_message_carries_a_status_callback(h: Harness) -> None:
    await queue(h, [CALLER])
    await h.drain()
    [sent] = fake(h).sent()
    assert sent.status_callback is not None
    assert sent.status_callback.startswith(TEST_PUBLIC_URL + "/twilio/status?ob=")


async def test_a_sending_worker_without_a_callback_url_warns_loudly(
    caplog: pytest.LogCaptureFixture, sqlite_url: str
) -> None:
    store = open_store(sqlite_url, auto_migrate=True)
    await store.open()
    async with FakeTwilio() as api:
        creds = Credentials(api.account_sid, api.account_sid, TEST_AUTH_TOKEN, api.base_url)
        worker = OutboxWorker(store, settings(), FakeClock(), Gate(store), sender=TwilioRest(creds))
        with caplog.at_level(logging.WARNING, logger="switchboard.outbox"):
            worker.start()
            await worker.stop()
    await store.close()
    assert any("no status callback URL" in r.getMessage() for r in caplog.records)
