"""Restarts: unsent messages go out afterwards, and none goes twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.dev.fake_twilio import FakeTwilio
from bot.dev.signing import TEST_AUTH_TOKEN
from bot.outbound.config import Credentials
from bot.outbound.rest import TwilioRest
from bot.testing import FakeClock, Harness
from storage.records import Attempt
from tests.outbound.conftest import CALLER, OURS, make_harness


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(auth_token=TEST_AUTH_TOKEN) as fake:
        yield fake


async def enqueue_three(db: Path, twilio: FakeTwilio, clock: FakeClock) -> None:
    """First process: three messages stored, the process stops before sending any."""
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as first:
        for number in ("+15550002222", "+15550003333", "+15550004444"):
            await first.phone(number).send("hi")
            await first.phone(number).send("ping")
    assert twilio.sent() == []


async def test_unsent_messages_go_out_after_a_restart_once(
    tmp_path: Path, twilio: FakeTwilio
) -> None:
    db, clock = tmp_path / "app.db", FakeClock()
    await enqueue_three(db, twilio, clock)
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as second:
        assert await second.drain() == 3
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as third:
        assert await third.drain() == 0
    assert sorted(m.to for m in twilio.sent()) == ["+15550002222", "+15550003333", "+15550004444"]


async def claim_all(h: Harness, owner: str) -> list[str]:
    now = h.clock.now()
    claimed = await h.store.claim_outbox(owner, now, now + timedelta(minutes=2), 100)
    return [m.id for m in claimed]


async def test_a_crash_after_twilio_took_the_message_does_not_send_it_again(
    tmp_path: Path, twilio: FakeTwilio
) -> None:
    db, clock = tmp_path / "app.db", FakeClock()
    twilio.clock = clock.now
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as first:
        await first.phone(CALLER).send("hi")
        await first.phone(CALLER).send("ping")
        [message_id] = await claim_all(first, "crashed-worker")
        # The crashed worker stored its attempt, and its request reached Twilio; its answer
        # was never stored.
        wire = {"To": CALLER, "From": OURS, "Body": "pong"}
        attempt = Attempt(1, wire, clock.now(), (CALLER, OURS))
        assert await first.store.begin_attempt(message_id, "crashed-worker", attempt) == "started"
        rest = TwilioRest(Credentials(twilio.account_sid, twilio.account_sid, TEST_AUTH_TOKEN,
                                      twilio.base_url))  # fmt: skip
        await rest.create_message(to=CALLER, from_=OURS, body="pong")
        await rest.close()
    clock.advance(timedelta(minutes=1))
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as second:
        assert await second.drain() == 0  # still leased to the crashed worker
        clock.advance(timedelta(minutes=2))
        assert await second.drain() == 1
        message = await second.store.outbox_message(message_id)
        assert message is not None and message.status == "accepted"
        assert message.sid == twilio.sent()[0].sid
        assert [e.event for e in await second.store.outbox_history(message_id)][-1] == "reconciled"
    assert len(twilio.sent()) == 1


async def test_a_crash_before_the_request_sends_it_after_the_lease(
    tmp_path: Path, twilio: FakeTwilio
) -> None:
    db, clock = tmp_path / "app.db", FakeClock()
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as first:
        await first.phone(CALLER).send("hi")
        await first.phone(CALLER).send("ping")
        await claim_all(first, "crashed-worker")
    clock.advance(timedelta(minutes=3))
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as second:
        assert await second.drain() == 1
    assert [m.body for m in twilio.sent()] == ["pong"]


async def test_two_workers_share_the_outbox_without_sending_twice(
    tmp_path: Path, twilio: FakeTwilio
) -> None:
    db, clock = tmp_path / "app.db", FakeClock()
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as one:
        for i in range(20):
            await one.phone(f"+1555000{i:04d}").send("hi")
            await one.phone(f"+1555000{i:04d}").send("ping")
        async with make_harness(db_path=db, twilio=twilio, clock=clock) as two:
            await asyncio.gather(one.drain(), two.drain())
    assert len(twilio.sent()) == 20 and len({m.to for m in twilio.sent()}) == 20


async def test_timers_survive_a_restart(tmp_path: Path, twilio: FakeTwilio) -> None:
    db, clock = tmp_path / "app.db", FakeClock()
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as first:
        await first.phone(CALLER).send("hi")
        await first.phone(CALLER).send("later")
    clock.advance(timedelta(hours=1))
    async with make_harness(db_path=db, twilio=twilio, clock=clock) as second:
        await second.drain()
    assert [m.body for m in twilio.sent()] == ["beep!"]


async def test_a_message_whose_lease_is_nearly_over_is_handed_back_unsent() -> None:
    async with make_harness() as h:
        await h.phone(CALLER).send("hi")
        await h.phone(CALLER).send("ping")
        now = h.clock.now()
        [message] = await h.store.claim_outbox(
            h.runtime.outbox.owner, now, now + timedelta(minutes=2), 10
        )
        await h.runtime.outbox.process(message, deadline=now)  # as if the bucket took that long
        assert h.twilio is not None and h.twilio.sent() == []
        got = await h.store.outbox_message(message.id)
        assert got is not None and got.status == "pending"
        assert (await h.store.outbox_history(message.id))[-1].event == "released"
        await h.drain()
        assert len(h.twilio.sent()) == 1
