"""Send once, by design: an attempt's exact request is stored before Twilio is called, and an
unanswered attempt is settled against what was really sent, from when it was sent.

Regressions for issue 16: duplicates after a crash for a busy recipient (the lookup read
only the 50 newest messages), when Twilio accepted a create after the client's timeout (looked
up too early), and when the body sent differed from the body stored (smart encoding, a
template). Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from bot import Router
from bot.compliance.config import Compliance, NumberPolicy, Template
from bot.dev.fake_twilio import FakeTwilio
from bot.dev.signing import TEST_AUTH_TOKEN
from bot.events.model import Channel
from bot.outbound.config import Credentials
from bot.outbound.rest import TwilioRest
from bot.testing import Harness
from storage.records import Attempt, OutboundMessage, Purpose
from tests.outbound.conftest import CALLER, OURS, Notify, make_harness, settings

SLOW = {"request_timeout": 0.2, "settle_seconds": 60.0}  # a create that answers in 0.6 s times out


def fake(h: Harness) -> FakeTwilio:
    assert h.twilio is not None
    return h.twilio


async def history(h: Harness, message_id: str) -> list[str]:
    return [e.event for e in await h.store.outbox_history(message_id)]


async def test_a_crash_with_a_busy_recipient_reconciles_across_pages(database_url: str) -> None:
    async with make_harness(
        database_url=database_url, outbound_settings=settings(lookup_page_size=50)
    ) as h:
        await h.phone(CALLER).send("hi")
        await h.phone(CALLER).send("ping")
        fake(h).seed(CALLER, OURS, 120, "before {n}")
        now = h.clock.now()
        [claimed] = await h.store.claim_outbox("crashed", now, now + timedelta(minutes=2), 10)
        wire = {"To": CALLER, "From": OURS, "Body": "pong"}
        assert (
            await h.store.begin_attempt(claimed.id, "crashed", Attempt(1, wire, now)) == "started"
        )
        rest = TwilioRest(Credentials(
            fake(h).account_sid, fake(h).account_sid, TEST_AUTH_TOKEN, fake(h).base_url
        ))  # fmt: skip
        made = await rest.create_message(to=CALLER, from_=OURS, body="pong")  # then it died
        await rest.close()
        h.clock.advance(timedelta(seconds=30))
        fake(h).seed(CALLER, OURS, 400, "after {n}")  # a staff number: hundreds more since
        fake(h).seed(CALLER, OURS, 3, "pong")  # same body, but other rows' (not stored: free)
        h.clock.advance(timedelta(minutes=3))  # the lease and the settle time are over
        assert await h.drain() == 1
        message = await h.store.outbox_message(claimed.id)
        assert message is not None and (message.status, message.sid) == ("accepted", made.sid)
        assert (await history(h, claimed.id))[-1] == "reconciled"
        assert fake(h).lists >= 9  # 526 messages at 50 a page: it paged past the newest 50
        assert [m.body for m in fake(h).sent(CALLER)].count("pong") == 4  # nothing new


async def late_accept(h: Harness, message_id: str) -> list[str]:
    """Twilio takes the create after the client gave up: settled without a second send.
    Returns the bodies Twilio accepted (checked here to be that one message, once)."""
    await h.drain()  # the create times out
    message = await h.store.outbox_message(message_id)
    assert message is not None and message.status == "pending" and message.unsettled
    await fake(h).wait_sent(1)  # ...and Twilio accepts it afterwards
    h.clock.advance(timedelta(seconds=10))
    await h.drain()
    assert fake(h).lists == 0  # not looked up before the settle time
    h.clock.advance(timedelta(seconds=60))
    await h.drain()
    message = await h.store.outbox_message(message_id)
    assert message is not None and message.status == "accepted"
    assert [message.sid] == [m.sid for m in fake(h).sent()]
    assert await history(h, message_id) == ["queued", "attempt", "unanswered", "reconciled"]
    return [m.body for m in fake(h).sent()]


async def first_id(h: Harness) -> str:
    now = h.clock.now()
    [m] = await h.store.claim_outbox("peek", now, now, 1)  # its lease is over at once
    return m.id


async def test_twilio_accepting_after_the_timeout_is_not_sent_twice(database_url: str) -> None:
    async with make_harness(database_url=database_url, outbound_settings=settings(**SLOW)) as h:
        await h.phone(CALLER).send("hi")
        await h.phone(CALLER).send("ping")
        fake(h).fail_next(delay=0.6, create_anyway=True)
        assert await late_accept(h, await first_id(h)) == ["pong"]  # once, not twice


async def test_a_smart_encoded_body_is_matched_as_sent(database_url: str) -> None:
    slow = settings(smart_encoding=True, **SLOW)
    async with make_harness(database_url=database_url, outbound_settings=slow) as h:
        await h.phone(CALLER).send("hi")
        await h.phone(CALLER).send("quote")  # "It’s “fine” — really"
        fake(h).fail_next(delay=0.6, create_anyway=True)
        await late_accept(h, await first_id(h))
        assert [m.body for m in fake(h).sent()] == ['It\'s "fine" - really']


async def test_a_template_the_gate_substituted_is_matched_as_sent(database_url: str) -> None:
    sid = "HX" + "a" * 32
    compliance = Compliance(default=NumberPolicy(templates={"reminder": Template(sid)}))
    harness = Harness.of(
        [Notify], Router(default="notify"), compliance,
        database_url=database_url, outbound_settings=settings(**SLOW),
    )  # fmt: skip
    async with harness as h:
        phone = h.phone(CALLER, channel=Channel.WHATSAPP)
        await phone.send("hi")
        await phone.send("tomorrow")  # a reminder in 25 h: the window has closed by then
        h.clock.advance(timedelta(hours=25))
        await h.runtime.timers.drain()
        fake(h).fail_next(delay=0.6, create_anyway=True)
        await late_accept(h, await first_id(h))
        [sent] = fake(h).sent()
        assert sent.content_sid == sid and sent.body == ""


async def enqueue(h: Harness, purpose: Purpose, body: str = "news", key: str = "1") -> str:
    now = h.clock.now()
    message = OutboundMessage(
        id=f"OB-{purpose}-{key}", channel="sms", ours=OURS, theirs=CALLER, body=body,
        due_at=now, created_at=now, purpose=purpose,
    )  # fmt: skip
    assert await h.store.enqueue([message]) == 1
    return message.id


async def test_an_unanswered_campaign_is_never_sent_twice_at_most_once(database_url: str) -> None:
    async with make_harness(database_url=database_url, outbound_settings=settings(**SLOW)) as h:
        campaign = await enqueue(h, Purpose.CAMPAIGN)
        fake(h).fail_next(delay=0.6)  # no answer, and Twilio did not take it either
        await h.drain()
        h.clock.advance(timedelta(seconds=61))
        await h.drain()
        message = await h.store.outbox_message(campaign)
        assert message is not None and (message.status, message.sid) == ("failed", None)
        assert (await history(h, campaign))[-1] == "unconfirmed"
        assert fake(h).sent() == []


async def test_an_unanswered_reply_is_sent_again_at_least_once(database_url: str) -> None:
    async with make_harness(database_url=database_url, outbound_settings=settings(**SLOW)) as h:
        reply = await enqueue(h, Purpose.SEND)
        fake(h).fail_next(delay=0.6)
        await h.drain()
        h.clock.advance(timedelta(seconds=61))
        await h.drain()
        message = await h.store.outbox_message(reply)
        assert message is not None and message.status == "accepted"
        assert [m.sid for m in fake(h).sent()] == [message.sid]


async def test_the_same_body_twice_does_not_borrow_the_first_ones_sid(database_url: str) -> None:
    async with make_harness(database_url=database_url, outbound_settings=settings(**SLOW)) as h:
        first = await enqueue(h, Purpose.SEND, "same")
        await h.drain()
        second = await enqueue(h, Purpose.SEND, "same", key="2")  # another row, same text...
        fake(h).fail_next(delay=0.6)  # ...whose attempt gets no answer and did not go out
        await h.drain()
        h.clock.advance(timedelta(seconds=61))
        await h.drain()
        one, two = await h.store.outbox_message(first), await h.store.outbox_message(second)
        assert one is not None and two is not None and one.sid != two.sid
        assert len(fake(h).sent()) == 2


async def test_a_delivery_retry_that_times_out_is_settled_not_resent(database_url: str) -> None:
    async with make_harness(database_url=database_url, outbound_settings=settings(**SLOW)) as h:
        reply = await enqueue(h, Purpose.SEND)
        await h.drain()
        [first] = fake(h).sent()
        await fake(h).deliver(first.sid, "undelivered", error_code=30003)  # retried later
        message = await h.store.outbox_message(reply)
        assert message is not None and message.status == "pending" and message.sid == first.sid
        h.clock.set(message.due_at)
        fake(h).fail_next(delay=0.6, create_anyway=True)  # the retry's create times out...
        await h.drain()
        await fake(h).wait_sent(2)  # ...and is accepted late
        h.clock.advance(timedelta(seconds=61))
        await h.drain()
        message = await h.store.outbox_message(reply)
        assert message is not None and message.status == "accepted"
        assert len(fake(h).sent()) == 2 and message.sid == fake(h).sent()[1].sid


async def test_a_crashed_attempt_is_not_looked_up_before_the_settle_time(
    database_url: str,
) -> None:
    slow = settings(settle_seconds=300.0)  # longer than the 2-minute lease
    async with make_harness(database_url=database_url, outbound_settings=slow) as h:
        message_id = await enqueue(h, Purpose.SEND)
        now = h.clock.now()
        await h.store.claim_outbox("crashed", now, now + timedelta(minutes=2), 10)
        wire = {"To": CALLER, "From": OURS, "Body": "news"}
        assert await h.store.begin_attempt(message_id, "crashed", Attempt(1, wire, now))
        h.clock.advance(timedelta(minutes=3))  # the lease is over; the settle time is not
        await h.drain()
        assert fake(h).lists == 0 and fake(h).sent() == []
        assert (await history(h, message_id))[-1] == "settling"
        fake(h).seed(CALLER, OURS, 1, "news")  # the dead worker's create shows up late
        h.clock.advance(timedelta(minutes=2))
        await h.drain()
        message = await h.store.outbox_message(message_id)
        assert message is not None and message.status == "accepted"
        assert len(fake(h).sent()) == 1 and fake(h).lists == 1
