"""Transient failures are retried with backoff (Retry-After honoured); permanent ones are not."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.dev.fake_twilio import FakeTwilio
from bot.errors import RestError
from bot.events.model import Channel
from bot.outbound.policy import Backoff, Consequence, consequence, is_transient
from bot.outbound.start import start_conversation
from bot.testing import Harness
from tests.outbound.conftest import CALLER, OURS, make_harness, settings


async def ping(h: Harness, number: str = CALLER) -> str:
    await h.phone(number).send("hi")
    await h.phone(number).send("ping")
    [message_id] = await ids(h)
    return message_id


async def ids(h: Harness) -> list[str]:
    def read(conn):  # type: ignore[no-untyped-def]
        return [r[0] for r in conn.execute("SELECT id FROM outbox ORDER BY rowid").fetchall()]

    return await h.store._run(read)  # type: ignore[attr-defined,no-any-return]


def fake(h: Harness) -> FakeTwilio:
    assert h.twilio is not None
    return h.twilio


async def test_429_waits_at_least_retry_after_then_sends(h: Harness) -> None:
    message_id = await ping(h)
    fake(h).fail_next(status=429, code=20429, retry_after=30)
    await h.drain()
    message = await h.store.outbox_message(message_id)
    assert message is not None and message.status == "pending" and message.attempts == 1
    assert message.due_at >= h.clock.now() + timedelta(seconds=30)
    h.clock.advance(timedelta(seconds=29))
    await h.drain()
    assert fake(h).sent() == []
    h.clock.advance(timedelta(seconds=1))
    await h.drain()
    assert [m.body for m in fake(h).sent()] == ["pong"]
    history = [(e.event, e.code) for e in await h.store.outbox_history(message_id)]
    assert history == [
        ("queued", None), ("attempt", None), ("retry", 20429), ("attempt", None), ("sent", None)
    ]  # fmt: skip


async def test_5xx_is_retried_with_growing_backoff(h: Harness) -> None:
    message_id = await ping(h)
    fake(h).fail_next(status=503, times=2)
    waits = []
    for _ in range(3):
        await h.drain()
        message = await h.store.outbox_message(message_id)
        assert message is not None
        if message.status == "pending":
            waits.append(message.due_at - h.clock.now())
            h.clock.set(message.due_at)
    assert message is not None and message.status == "accepted" and message.attempts == 3
    assert timedelta(seconds=1) <= waits[0] <= timedelta(seconds=2)
    assert timedelta(seconds=2) <= waits[1] <= timedelta(seconds=4)


async def test_retries_are_bounded_by_the_horizon_not_a_count() -> None:
    async with make_harness(outbound_settings=settings(retry_horizon=3600.0)) as h:
        message_id = await ping(h)
        created = h.clock.now()
        fake(h).fail_next(status=500, times=1000)
        h.runtime.outbox.circuit.threshold = 10**6  # this test is about one message's budget
        for _ in range(200):
            await h.drain()
            message = await h.store.outbox_message(message_id)
            assert message is not None
            if message.status == "failed":
                break
            assert h.clock.now() - created < timedelta(hours=1)  # never failed before it
            h.clock.set(message.due_at)
        assert message is not None and message.status == "failed" and message.attempts > 5
        assert fake(h).attempts == message.attempts
        assert (await h.store.outbox_history(message_id))[-1].event == "gave-up"
        assert message.http_status == 500 and message.error_code == 20500


@pytest.mark.parametrize("code", [21211, 21614])
async def test_invalid_numbers_fail_once_and_are_never_tried_again(h: Harness, code: int) -> None:
    fake(h).fail_recipient(CALLER, code)
    message_id = await ping(h)
    await h.drain()
    message = await h.store.outbox_message(message_id)
    assert message is not None and (message.status, message.error_code) == ("failed", code)
    assert fake(h).attempts == 1
    await h.phone(CALLER).send("ping")  # a second message to the same number
    await h.drain()
    assert fake(h).attempts == 1  # not even tried: the number is undeliverable
    second = (await ids(h))[-1]
    assert (await h.store.outbox_history(second))[-1].event == "undeliverable"


async def test_21610_records_the_opt_out_in_the_consent_ledger(h: Harness) -> None:
    fake(h).fail_recipient(CALLER, 21610)
    message_id = await ping(h)
    await h.drain()
    message = await h.store.outbox_message(message_id)
    assert message is not None and (message.status, message.error_code) == ("failed", 21610)
    contact = await h.engine.gate.contact(message.channel, message.ours, CALLER)  # type: ignore[arg-type]
    assert contact.opted_out
    # the carrier said STOP: our own gate refuses the next message, at send time
    await start_conversation(h.engine, "notify", CALLER, from_=OURS)
    await h.drain()
    assert fake(h).attempts == 1
    second = await h.store.outbox_message((await ids(h))[-1])
    assert second is not None and (second.status, second.error) == ("blocked", "opted_out")


async def test_a_timeout_is_checked_before_it_is_retried_so_nothing_goes_twice() -> None:
    async with make_harness() as h:
        h.runtime.outbox.sender.timeout = 0.2  # type: ignore[union-attr]
        message_id = await ping(h)
        fake(h).fail_next(delay=0.5, create_anyway=True)  # Twilio takes it, answers too late
        await h.drain()
        message = await h.store.outbox_message(message_id)
        assert message is not None and message.status == "pending"
        await asyncio.sleep(0.5)
        h.clock.set(message.due_at)
        await h.drain()
        assert len(fake(h).sent()) == 1
        message = await h.store.outbox_message(message_id)
        assert message is not None and message.status == "accepted"
        assert message.sid == fake(h).sent()[0].sid
        events = [e.event for e in await h.store.outbox_history(message_id)]
        assert events == ["queued", "attempt", "unanswered", "reconciled"]


def test_error_taxonomy() -> None:
    for code in (20429, 63018, 30003, 30008):
        assert is_transient(code)
    for code in (21211, 21408, 21610, 21614, 30004, 30005, 30006, 30007, 30034, 63016):
        assert not is_transient(code)
        assert not is_transient(code, RestError("x", code=code, status=400))
    assert is_transient(None, RestError("no answer", timeout=True))
    assert is_transient(None, RestError("bad gateway", code=20500, status=502))
    assert consequence(21610) is Consequence.OPTED_OUT
    assert consequence(30006) is Consequence.UNDELIVERABLE
    assert consequence(63016) is Consequence.WINDOW_CLOSED
    assert consequence(30007) is Consequence.NONE


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    backoff = Backoff(base=2, cap=60, max_attempts=5)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        delay = backoff.delay(attempt).total_seconds()
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.delay(1, retry_after=45).total_seconds() == 45
    assert backoff.exhausted(5) and not backoff.exhausted(4)


async def test_63016_closes_our_whatsapp_window_so_the_next_free_form_send_is_held(
    h: Harness,
) -> None:
    phone = h.phone(CALLER, channel=Channel.WHATSAPP)
    await phone.send("hi")  # our record: the window is open
    fake(h).fail_recipient(f"whatsapp:{CALLER}", 63016)  # ...but Twilio says it is closed
    await phone.send("ping")
    await h.drain()
    first = await h.store.outbox_message((await ids(h))[0])
    assert first is not None and (first.status, first.error_code) == ("failed", 63016)
    await phone.send("ping")  # a new message reopens the window: it goes again
    fake(h).recipient_errors.clear()
    await h.drain()
    assert [m.body for m in fake(h).sent()] == ["pong"]
    await start_conversation(h.engine, "notify", f"whatsapp:{CALLER}", from_=f"whatsapp:{OURS}")
    fake(h).fail_recipient(f"whatsapp:{CALLER}", 63016)
    await h.drain()  # 63016 again: the window is closed in our record too
    fake(h).recipient_errors.clear()
    await start_conversation(h.engine, "notify", f"whatsapp:{CALLER}", from_=f"whatsapp:{OURS}")
    await h.drain()
    last = await h.store.outbox_message((await ids(h))[-1])
    assert last is not None and (last.status, last.error) == ("blocked", "window_closed")
    assert len(fake(h).sent()) == 1
