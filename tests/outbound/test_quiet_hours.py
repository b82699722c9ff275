"""Quiet hours: campaigns and reminders wait for the recipient's local window; replies do not.

The oracle here is independent of the code: the expected UTC opening times are written out
by hand for each zone and date (EST = UTC-5, PST = UTC-8, EDT = UTC-4 from 2026-03-08).
Each test that sends runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time

import pytest

from bot import Router
from bot.compliance.config import Compliance, NumberPolicy
from bot.compliance.quiet import QuietHours
from bot.dev.fake_twilio import FakeTwilio
from bot.errors import ConfigError
from bot.testing import FakeClock, Harness
from storage.records import OutboundMessage, Purpose
from tests.outbound.conftest import OURS, Notify

NEW_YORK = "+12125550100"
LOS_ANGELES = "+14155550100"


def at(day: str, hh: int, mm: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hh:02d}:{mm:02d}:00+00:00")


def harness(url: str, start: datetime, compliance: Compliance | None = None) -> Harness:
    return Harness.of(
        [Notify], Router(default="notify"), compliance, database_url=url, clock=FakeClock(start)
    )


def fake(h: Harness) -> FakeTwilio:
    assert h.twilio is not None
    return h.twilio


async def enqueue(h: Harness, to: str, purpose: Purpose, key: str = "1") -> str:
    now = h.clock.now()
    message = OutboundMessage(
        id=f"OB-{to}-{purpose}-{key}", channel="sms", ours=OURS, theirs=to, body="Sale!",
        due_at=now, created_at=now, purpose=purpose,
    )  # fmt: skip
    await h.store.enqueue([message])
    return message.id


async def due(h: Harness, message_id: str) -> datetime:
    message = await h.store.outbox_message(message_id)
    assert message is not None and message.status == "pending"
    return message.due_at.astimezone(UTC)


async def test_a_campaign_waits_for_each_recipients_local_morning(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness(database_url, at("2026-01-05", 9)) as h:  # 04:00 EST, 01:00 PST
        ny = await enqueue(h, NEW_YORK, Purpose.CAMPAIGN)
        la = await enqueue(h, LOS_ANGELES, Purpose.REMINDER)
        reply = await enqueue(h, LOS_ANGELES, Purpose.SEND)
        with caplog.at_level(logging.INFO, logger="switchboard.outbox"):
            await h.drain()
        assert [m.to for m in fake(h).sent()] == [LOS_ANGELES]  # the transactional one
        assert (await h.store.outbox_message(reply)).status == "accepted"  # type: ignore[union-attr]
        assert await due(h, ny) == at("2026-01-05", 13)  # 08:00 EST
        assert await due(h, la) == at("2026-01-05", 16)  # 08:00 PST
        assert "outside the recipient's quiet hours" in caplog.text
        h.clock.set(at("2026-01-05", 12, 59))
        await h.drain()
        assert len(fake(h).sent()) == 1
        h.clock.set(at("2026-01-05", 13))
        await h.drain()
        assert [m.to for m in fake(h).sent()] == [LOS_ANGELES, NEW_YORK]
        h.clock.set(at("2026-01-05", 16))
        await h.drain()
        assert [m.to for m in fake(h).sent()] == [LOS_ANGELES, NEW_YORK, LOS_ANGELES]
        assert [e.event for e in await h.store.outbox_history(ny)] == [
            "queued", "held", "attempt", "sent"
        ]  # fmt: skip


async def test_a_flow_marks_a_send_as_a_campaign(database_url: str) -> None:
    async with harness(database_url, at("2026-01-05", 9)) as h:  # 04:00 in New York
        await h.phone(NEW_YORK).send("hi")
        reply = await h.phone(NEW_YORK).send("promo")
        assert "ok" in reply.body  # the reply itself is transactional: TwiML, at once
        await h.drain()
        assert fake(h).sent() == []
        h.clock.set(at("2026-01-05", 13))
        await h.drain()
        assert [m.body for m in fake(h).sent()] == ["Sale! 20% off today."]


async def test_after_nine_in_the_evening_it_waits_for_the_next_morning(database_url: str) -> None:
    async with harness(database_url, at("2026-01-06", 2, 30)) as h:  # 21:30 EST on the 5th
        ny = await enqueue(h, NEW_YORK, Purpose.CAMPAIGN)
        await h.drain()
        assert fake(h).sent() == [] and await due(h, ny) == at("2026-01-06", 13)


async def test_the_window_moves_with_a_dst_change(database_url: str) -> None:
    # 2026-03-08 01:00 EST; clocks go forward at 02:00, so 08:00 that day is EDT (UTC-4)
    async with harness(database_url, at("2026-03-08", 6)) as h:
        ny = await enqueue(h, NEW_YORK, Purpose.CAMPAIGN)
        await h.drain()
        assert await due(h, ny) == at("2026-03-08", 12)  # not 13:00, as it would be in EST
        h.clock.set(at("2026-03-08", 12))
        await h.drain()
        assert [m.to for m in fake(h).sent()] == [NEW_YORK]


async def test_a_contacts_own_zone_overrides_the_numbers(database_url: str) -> None:
    compliance = Compliance(contact_zones={NEW_YORK: "Europe/London"})
    async with harness(database_url, at("2026-01-05", 9), compliance) as h:  # 09:00 in London
        await enqueue(h, NEW_YORK, Purpose.CAMPAIGN)
        await h.drain()
        assert [m.to for m in fake(h).sent()] == [NEW_YORK]


async def test_a_stored_zone_overrides_the_number_and_the_configuration(
    database_url: str,
) -> None:
    compliance = Compliance(contact_zones={NEW_YORK: "Europe/London"})
    async with harness(database_url, at("2026-01-05", 9), compliance) as h:
        gate = h.engine.gate
        with pytest.raises(ConfigError, match="unknown time zone"):
            await gate.set_zone(NEW_YORK, "Mars/Olympus", h.clock.now())
        await gate.set_zone(NEW_YORK, "Asia/Tokyo", h.clock.now())  # 18:00 there: open
        await gate.set_zone(LOS_ANGELES, "Asia/Tokyo", h.clock.now())
        await gate.set_zone(LOS_ANGELES, None, h.clock.now())  # forgotten: 01:00 PST
        ny = await enqueue(h, NEW_YORK, Purpose.CAMPAIGN)
        la = await enqueue(h, LOS_ANGELES, Purpose.CAMPAIGN)
        await h.drain()
        assert [m.to for m in fake(h).sent()] == [NEW_YORK]
        assert (await h.store.outbox_message(ny)).status == "accepted"  # type: ignore[union-attr]
        assert await due(h, la) == at("2026-01-05", 16)
        h.clock.set(at("2026-01-05", 12, 30))  # 21:30 in Tokyo: the stored zone is closed
        await enqueue(h, NEW_YORK, Purpose.CAMPAIGN, key="2")
        await h.drain()
        assert len(fake(h).sent()) == 1


async def test_quiet_hours_can_be_turned_off_per_number(database_url: str) -> None:
    compliance = Compliance(numbers={OURS: NumberPolicy(quiet=None)})
    async with harness(database_url, at("2026-01-05", 9), compliance) as h:
        await enqueue(h, NEW_YORK, Purpose.CAMPAIGN)
        await h.drain()
        assert len(fake(h).sent()) == 1


def test_a_number_spanning_zones_waits_for_the_window_in_all_of_them() -> None:
    quiet = QuietHours()
    zones = ["America/New_York", "America/Los_Angeles"]
    assert quiet.opens_at(zones, at("2026-01-05", 14)) == at("2026-01-05", 16)
    assert quiet.opens_at(zones, at("2026-01-05", 17)) is None
    assert quiet.opens_at([], at("2026-01-05", 3)) == at("2026-01-05", 8)  # default zone UTC


def test_bad_quiet_hours_configuration_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="before end"):
        QuietHours(time(21), time(8))
    with pytest.raises(ConfigError, match="unknown time zone"):
        Compliance(contact_zones={NEW_YORK: "Mars/Olympus"})
    with pytest.raises(ConfigError, match="malformed"):
        Compliance.from_dict({"default": {"quiet_hours": {"start": "8 am"}}})
    parsed = Compliance.from_dict({"default": {"quiet_hours": {"start": "09:30", "end": "20:00"}}})
    assert parsed.default.quiet == QuietHours(time(9, 30), time(20))
