"""MessageStatus callbacks on POST /twilio/status: monotonic, duplicates and disorder tolerated."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.dev.fake_twilio import TEST_ACCOUNT_SID, FakeTwilio
from bot.events.model import Channel
from bot.outbound.start import start_conversation
from bot.testing import Harness
from tests.outbound.conftest import CALLER, OURS, make_harness

LIFECYCLE = ("queued", "sending", "sent", "delivered", "read")


def fake(h: Harness) -> FakeTwilio:
    assert h.twilio is not None
    return h.twilio


async def sent_message(h: Harness, number: str = CALLER) -> tuple[str, str]:
    """Send one message; returns (our id, Twilio's sid)."""
    await h.phone(number).send("hi")
    await h.phone(number).send("ping")
    await h.drain()
    sms = fake(h).sent(number)[-1]
    assert sms.status_callback is not None
    return sms.status_callback.split("ob=")[1], sms.sid


async def test_in_order(h: Harness) -> None:
    message_id, sid = await sent_message(h)
    assert await fake(h).deliver(sid, "sent", "delivered") == [204, 204]
    message = await h.store.outbox_message(message_id)
    assert message is not None and message.delivery == "delivered"
    events = [(e.event, e.status) for e in await h.store.outbox_history(message_id)]
    assert events[-2:] == [("status", "sent"), ("status", "delivered")]


@pytest.mark.parametrize("seed", range(5))
async def test_shuffled_and_duplicated_end_in_the_highest_status(seed: int) -> None:
    async with make_harness() as h:
        fake(h).random.seed(seed)
        message_id, sid = await sent_message(h)
        await fake(h).deliver(sid, *LIFECYCLE, shuffle=True, duplicate=True)
        message = await h.store.outbox_message(message_id)
        assert message is not None and message.delivery == "read"
        applied = [
            e.status for e in await h.store.outbox_history(message_id) if e.event == "status"
        ]
        ranks = [LIFECYCLE.index(s) for s in applied]
        assert ranks == sorted(set(ranks))  # only ever moved forward, each status at most once


async def test_failure_is_terminal_and_delivered_is_not_undone(h: Harness) -> None:
    first_id, first = await sent_message(h)
    await fake(h).deliver(first, "failed", "sent", "delivered", error_code=30007)
    message = await h.store.outbox_message(first_id)
    assert message is not None and (message.delivery, message.error_code) == ("failed", 30007)
    second_id, second = await sent_message(h, "+15550002222")
    await fake(h).deliver(second, "delivered", "undelivered", error_code=30005)
    message = await h.store.outbox_message(second_id)
    assert message is not None and message.delivery == "delivered"


async def test_undelivered_30003_is_sent_again_and_late_callbacks_are_stale(h: Harness) -> None:
    message_id, first = await sent_message(h)
    await fake(h).deliver(first, "sent", "undelivered", error_code=30003)
    message = await h.store.outbox_message(message_id)
    assert message is not None and message.status == "pending"
    h.clock.set(message.due_at)
    await h.drain()
    assert len(fake(h).sent(CALLER)) == 2
    second = fake(h).sent(CALLER)[-1].sid
    await fake(h).deliver(first, "delivered")  # a late callback about the first attempt
    await fake(h).deliver(second, "delivered")
    message = await h.store.outbox_message(message_id)
    assert message is not None and (message.sid, message.delivery) == (second, "delivered")
    events = [e.event for e in await h.store.outbox_history(message_id)]
    assert "status-stale" in events and events.count("retry") == 1


async def test_undelivered_30006_marks_the_number_undeliverable(h: Harness) -> None:
    _, sid = await sent_message(h)
    await fake(h).deliver(sid, "undelivered", error_code=30006)
    await h.phone(CALLER).send("ping")
    before = fake(h).attempts
    await h.drain()
    assert fake(h).attempts == before  # never tried again


async def test_delivery_report_per_flow_and_per_number(h: Harness) -> None:
    _, a = await sent_message(h, "+15550002222")
    _, b = await sent_message(h, "+15550003333")
    await fake(h).deliver(a, "delivered")
    await fake(h).deliver(b, "undelivered", error_code=30005)
    [flow] = await h.store.delivery_report("flow")
    assert (flow.group, flow.total, flow.delivered, flow.rate) == ("notify", 2, 1, 0.5)
    by_number = {c.group: c.rate for c in await h.store.delivery_report("theirs")}
    assert by_number == {"+15550002222": 1.0, "+15550003333": 0.0}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ([("MessageSid", "SM" + "1" * 32), ("MessageStatus", "exploded")], 400),
        ([("MessageStatus", "sent")], 400),
        ([("MessageSid", "SM" + "1" * 32), ("MessageStatus", "failed"), ("ErrorCode", "x")], 400),
        ([("MessageSid", "SM" + "1" * 32), ("MessageStatus", "delivered")], 204),  # unknown sid
        ([("MessageSid", "SM" + "1" * 32), ("MessageStatus", "received")], 204),
    ],
)
async def test_bad_or_unknown_callbacks(
    h: Harness, params: list[tuple[str, str]], status: int
) -> None:
    assert (await h.post("/twilio/status", params)).status == status


async def test_unsigned_callbacks_are_refused(h: Harness) -> None:
    _, sid = await sent_message(h)
    params = [("MessageSid", sid), ("MessageStatus", "delivered")]
    assert (await h.post("/twilio/status", params, signed=False)).status == 403


async def test_message_history_is_complete(h: Harness) -> None:
    message_id, sid = await sent_message(h)
    h.clock.advance(timedelta(seconds=5))
    await fake(h).deliver(sid, "sent", "delivered", "delivered")
    history = await h.store.outbox_history(message_id)
    assert [(e.event, e.status) for e in history] == [
        ("queued", "pending"), ("attempt", "claimed"), ("sent", "accepted"), ("status", "sent"),
        ("status", "delivered"), ("status-ignored", "delivered"),
    ]  # fmt: skip


@pytest.mark.parametrize(("status", "code"), [("undelivered", 30007), ("failed", 30034)])
async def test_a_failure_reported_by_callback_leaves_a_log_line(
    h: Harness, caplog: pytest.LogCaptureFixture, status: str, code: int
) -> None:
    """A send Twilio refused at once was logged (a warning); one that failed later, in a
    status callback, was only stored: the operator's log said nothing (wire conformance)."""
    message_id, sid = await sent_message(h)
    with caplog.at_level(logging.WARNING, logger="switchboard.status"):
        await fake(h).deliver(sid, "sent", status, error_code=code)
    assert f"outbox message {message_id} {status} (Twilio error {code})" in caplog.text


async def test_63016_for_a_twiml_reply_not_in_the_outbox_closes_the_whatsapp_window(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A TwiML ``<Message>`` reply is sent by Twilio, not through our outbox; its 63016 comes
    through the Messaging Service's (or account's) status callback, with no ``ob`` and a sid
    we never stored. It closes the window all the same, so the next free-form send is held."""
    phone = h.phone(CALLER, channel=Channel.WHATSAPP)
    assert (await phone.send("hi")).status == 200  # our record: the window is open
    callback = [
        ("AccountSid", TEST_ACCOUNT_SID), ("ApiVersion", "2010-04-01"),
        ("ChannelInstallSid", "XE" + "0" * 32), ("ChannelPrefix", "whatsapp"),
        ("ChannelStatusMessage", "Message failed to send because more than 24 hours have "
         "passed since the customer last replied to this number."),
        ("ErrorCode", "63016"), ("From", f"whatsapp:{OURS}"),
        ("MessageSid", "SM" + "7" * 32), ("MessageStatus", "undelivered"),
        ("MessagingServiceSid", "MG" + "3" * 32), ("SmsSid", "SM" + "7" * 32),
        ("SmsStatus", "undelivered"), ("To", f"whatsapp:{CALLER}"),
    ]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="switchboard.status"):
        assert (await h.post("/twilio/status", callback)).status == 204  # signed by the validator
    assert "closed the WhatsApp window" in caplog.text
    assert f"whatsapp:{OURS}" in caplog.text and f"whatsapp:{CALLER}" in caplog.text
    await start_conversation(h.engine, "notify", f"whatsapp:{CALLER}", from_=f"whatsapp:{OURS}")
    await h.drain()
    assert fake(h).sent() == []  # the free-form greeting was not sent...
    [(status, error)] = await outbox_rows(h)
    assert (status, error) == ("blocked", "window_closed")  # ...the gate refused it


async def test_a_failure_of_a_message_not_in_the_outbox_other_than_63016_changes_nothing(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    phone = h.phone(CALLER, channel=Channel.WHATSAPP)
    await phone.send("hi")
    callback = [
        ("ErrorCode", "63018"), ("From", f"whatsapp:{OURS}"), ("MessageSid", "SM" + "8" * 32),
        ("MessageStatus", "failed"), ("To", f"whatsapp:{CALLER}"),
    ]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="switchboard.status"):
        assert (await h.post("/twilio/status", callback)).status == 204
    assert "which is not in the outbox" in caplog.text
    await start_conversation(h.engine, "notify", f"whatsapp:{CALLER}", from_=f"whatsapp:{OURS}")
    await h.drain()
    assert [m.body for m in fake(h).sent()] == ["Hello from us."]  # the window is still open


async def outbox_rows(h: Harness) -> list[tuple[str, str | None]]:
    def read(conn):  # type: ignore[no-untyped-def]
        return conn.execute("SELECT status, error FROM outbox ORDER BY rowid").fetchall()

    return [tuple(r) for r in await h.store._run(read)]  # type: ignore[attr-defined]
