"""The durable outbox against the fake Twilio API with the real twilio client."""

from __future__ import annotations

from datetime import timedelta

from bot.outbound.start import start_conversation
from bot.testing import Harness
from tests.outbound.conftest import CALLER, OURS


async def outbox_rows(h: Harness, to: str | None = None) -> list[tuple[str, ...]]:
    def read(conn):  # type: ignore[no-untyped-def]
        rows = conn.execute(
            "SELECT id, theirs, body, status, delivery, sid FROM outbox ORDER BY rowid"
        )
        return [r for r in rows.fetchall() if to is None or r[1] == to]

    return await h.store._run(read)  # type: ignore[attr-defined,no-any-return]


async def test_turn_send_is_stored_with_the_turn_and_sent_by_the_worker(h: Harness) -> None:
    phone = h.phone(CALLER)
    await phone.send("hi")
    reply = await phone.send("ping")
    assert reply.messages == []  # not in the TwiML answer: it goes through the REST API
    [row] = await outbox_rows(h)
    assert row[1:4] == (CALLER, "pong", "pending")
    assert h.twilio is not None and h.twilio.sent() == []  # nothing sent inside the request
    assert await h.drain() == 1
    [message] = h.twilio.sent()
    assert (message.to, message.from_, message.body) == (CALLER, OURS, "pong")
    assert message.status_callback == f"https://switchboard.test/twilio/status?ob={row[0]}"
    [row] = await outbox_rows(h)
    assert row[3:] == ("accepted", "queued", message.sid)


async def test_send_to_another_number(h: Harness) -> None:
    await h.phone(CALLER).send("hi")
    await h.phone(CALLER).send("tell")
    await h.drain()
    assert h.twilio is not None
    assert [m.body for m in h.twilio.sent("+15550009999")] == ["Someone asked for you."]


async def test_a_drained_outbox_sends_nothing_twice(h: Harness) -> None:
    await h.phone(CALLER).send("hi")
    await h.phone(CALLER).send("ping")
    await h.drain()
    await h.drain()
    assert h.twilio is not None and len(h.twilio.sent()) == 1


async def test_start_conversation_sends_the_first_message_through_the_outbox(h: Harness) -> None:
    first = await start_conversation(
        h.engine, "notify", CALLER, from_=OURS, data={"greeting": "Your code is 1234."},
        start_id="campaign-1:1",
    )  # fmt: skip
    again = await start_conversation(
        h.engine, "notify", CALLER, from_=OURS, start_id="campaign-1:1"
    )
    assert first.started and not again.started and first.key == again.key
    await h.drain()
    assert h.twilio is not None
    assert [m.body for m in h.twilio.sent(CALLER)] == ["Your code is 1234."]
    stored = await h.store.conversation(first.key)
    assert stored is not None and stored.state == "idle"


async def test_segments_and_cost_are_recorded(h: Harness) -> None:
    await h.phone(CALLER).send("hi")
    await h.phone(CALLER).send("long")
    await h.drain()
    [row] = await outbox_rows(h)
    message = await h.store.outbox_message(row[0])
    assert message is not None
    assert (message.segments, message.encoding) == (5, "GSM-7")  # 700 / 153 → 5
    assert message.cost == "0.0395"


async def test_timer_fires_after_the_clock_moves(h: Harness) -> None:
    await h.phone(CALLER).send("hi")
    reply = await h.phone(CALLER).send("later")
    assert reply.messages == ["ok, in 30 minutes"]
    await h.drain()
    h.clock.advance(timedelta(minutes=29))
    await h.drain()
    assert h.twilio is not None and h.twilio.sent() == []
    h.clock.advance(timedelta(minutes=1))
    await h.drain()
    assert [m.body for m in h.twilio.sent()] == ["beep!"]
