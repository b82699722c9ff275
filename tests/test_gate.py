"""The outbound gate against the real SQLite store: ledger, window, templates, Twilio errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.compliance.config import Compliance, NumberPolicy, Template
from bot.compliance.consent import record_carrier_opt_out, set_consent
from bot.compliance.gate import Gate, Outgoing
from bot.compliance.window import close_window_after_63016, window_key
from bot.errors import OptedOut, WindowClosed
from bot.events.model import Channel
from storage.records import (
    OPTED_OUT,
    ConsentChange,
    ConsentSource,
    Direction,
    LogEntry,
    Purpose,
    TurnWrite,
)
from storage.sqlite import SQLiteStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OURS, THEIRS = "+15550100000", "+15550001111"
WA_OURS, WA_THEIRS = f"whatsapp:{OURS}", f"whatsapp:{THEIRS}"
REMINDER = Template("HX" + "a" * 32, {"1": "your appointment"})
COMPLIANCE = Compliance(NumberPolicy(templates={"reminder": REMINDER}))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "gate.db")
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
def gate(store: SQLiteStore) -> Gate:
    return Gate(store, COMPLIANCE)


def sms(body: str = "hello", **kw: object) -> Outgoing:
    return Outgoing(Channel.SMS, OURS, THEIRS, body, **kw)  # type: ignore[arg-type]


def wa(body: str = "hello", **kw: object) -> Outgoing:
    return Outgoing(Channel.WHATSAPP, WA_OURS, WA_THEIRS, body, **kw)  # type: ignore[arg-type]


async def inbound_whatsapp(store: SQLiteStore, at: datetime) -> None:
    """What a committed inbound WhatsApp turn writes for the window."""
    key = window_key(WA_OURS, WA_THEIRS)
    from storage.records import Conversation

    conversation = Conversation(key, "f", "s", {}, 1, "whatsapp", WA_OURS, WA_THEIRS)
    entry = LogEntry(key, Direction.IN, "message", "hi", at)
    write = TurnWrite(conversation, [entry], [], "<Response />", at, False, touch_window=True)
    await store.commit(write)


async def test_a_stranger_may_be_texted(gate: Gate) -> None:
    verdict = await gate.admit(sms(), T0)
    assert verdict.allowed and verdict.outgoing == sms() and verdict.reason is None


async def test_an_opt_out_blocks_every_send_in_its_scope_until_opt_in(gate: Gate) -> None:
    await set_consent(
        gate.store,
        gate.compliance,
        OURS,
        THEIRS,
        False,
        T0,
        source="operator",
        detail="asked by phone",
    )
    for outgoing in (sms(), sms(purpose=Purpose.TIMER), wa(), wa(content_sid=REMINDER.content_sid)):
        verdict = await gate.admit(outgoing, T0)
        assert (verdict.allowed, verdict.reason) == (False, "opted_out"), outgoing
    with pytest.raises(OptedOut):
        await gate.require(sms(), T0)
    # another of our numbers is another scope
    assert (await gate.admit(Outgoing(Channel.SMS, "+15550199999", THEIRS, "x"), T0)).allowed
    await set_consent(
        gate.store, gate.compliance, OURS, THEIRS, True, T0 + timedelta(minutes=1), source="api"
    )
    assert (await gate.admit(sms(), T0)).allowed


async def test_an_opted_out_person_may_get_only_the_keyword_answers(gate: Gate) -> None:
    await set_consent(gate.store, gate.compliance, OURS, THEIRS, False, T0)
    texts = COMPLIANCE.default.texts
    assert (await gate.admit(sms(texts.opted_out, purpose=Purpose.CONSENT), T0)).allowed
    assert (await gate.admit(sms(texts.help, purpose=Purpose.CONSENT), T0)).allowed
    refused = [
        sms("buy now", purpose=Purpose.CONSENT),  # not a consent text
        sms(texts.help),  # a consent text, but as an ordinary reply
        sms(texts.help, purpose=Purpose.CONSENT, media=("https://x/a.png",)),
        sms(texts.opted_in, purpose=Purpose.CONSENT),
    ]
    for outgoing in refused:
        assert not (await gate.admit(outgoing, T0)).allowed, outgoing


async def test_a_messaging_service_is_one_scope(store: SQLiteStore) -> None:
    service = "MG" + "1" * 32
    policy = NumberPolicy(service=service)
    gate = Gate(store, Compliance(numbers={"+15550100000": policy, "+15550100001": policy}))
    await set_consent(gate.store, gate.compliance, OURS, THEIRS, False, T0)
    blocked = Outgoing(Channel.WHATSAPP, "whatsapp:+15550100001", WA_THEIRS, "x")
    assert (await gate.admit(blocked, T0)).reason == "opted_out"
    assert (await gate.admit(Outgoing(Channel.SMS, "+15550100002", THEIRS, "x"), T0)).allowed
    assert [c.scope for c in await store.consent_history(THEIRS)] == [service]


async def test_whatsapp_free_form_needs_the_window(gate: Gate, store: SQLiteStore) -> None:
    assert (await gate.admit(wa(), T0)).reason == "window_closed"  # they never wrote
    await inbound_whatsapp(store, T0)
    assert (await gate.admit(wa(), T0 + timedelta(hours=23, minutes=59))).allowed
    late = T0 + timedelta(hours=24)
    assert (await gate.admit(wa(), late)).reason == "window_closed"
    with pytest.raises(WindowClosed):
        await gate.require(wa(template="no-such-kind"), late)
    # SMS has no window
    assert (await gate.admit(sms(), late)).allowed


async def test_outside_the_window_the_template_for_the_kind_goes(
    gate: Gate, store: SQLiteStore
) -> None:
    await inbound_whatsapp(store, T0)
    outgoing = wa("Reminder: tomorrow 3pm", media=("https://x/a.png",), template="reminder")
    outgoing = replace(outgoing, content_variables={"2": "3pm"})
    verdict = await gate.admit(outgoing, T0 + timedelta(hours=25))
    assert verdict.allowed and verdict.reason == "template"
    sent = verdict.outgoing
    assert (sent.body, sent.media, sent.content_sid) == ("", (), REMINDER.content_sid)
    assert sent.content_variables == {"1": "your appointment", "2": "3pm"}
    # inside the window the free-form text goes as it is
    assert (await gate.admit(outgoing, T0 + timedelta(hours=1))).outgoing == outgoing
    # a template the caller chose goes at any time
    chosen = wa("", content_sid="HX" + "b" * 32)
    assert (await gate.admit(chosen, T0 + timedelta(days=3))).outgoing == chosen


async def test_error_63016_closes_the_window(gate: Gate, store: SQLiteStore) -> None:
    await inbound_whatsapp(store, T0)
    assert (await gate.admit(wa(), T0 + timedelta(hours=2))).allowed
    assert await gate.window_error(WA_OURS, WA_THEIRS, T0 + timedelta(hours=2)) is True
    assert (await gate.admit(wa(), T0 + timedelta(hours=3))).reason == "window_closed"
    assert await close_window_after_63016(store, WA_OURS, WA_THEIRS, T0) is False  # already
    # they write again: the window reopens; a stale 63016 for an older send changes nothing
    await inbound_whatsapp(store, T0 + timedelta(hours=4))
    assert await gate.window_error(WA_OURS, WA_THEIRS, T0 + timedelta(hours=3)) is False
    assert (await gate.admit(wa(), T0 + timedelta(hours=5))).allowed


async def test_error_21610_records_a_carrier_opt_out_once(gate: Gate, store: SQLiteStore) -> None:
    assert (
        await record_carrier_opt_out(gate.store, gate.compliance, OURS, THEIRS, T0, "SM" + "0" * 32)
        is True
    )
    assert await gate.carrier_opt_out(OURS, THEIRS, T0) is False
    history = await store.consent_history(THEIRS)
    assert history == [
        ConsentChange(
            THEIRS,
            OURS,
            OPTED_OUT,
            ConsentSource.CARRIER,
            T0,
            "sms",
            f"error 21610 on SM{'0' * 32}",
        )
    ]
    assert (await gate.admit(sms(), T0)).reason == "opted_out"


async def test_voice_is_not_gated(gate: Gate) -> None:
    await set_consent(gate.store, gate.compliance, OURS, THEIRS, False, T0)
    assert (await gate.admit(Outgoing(Channel.VOICE, OURS, THEIRS, "hi"), T0)).allowed


def test_consent_sources_are_checked() -> None:
    with pytest.raises(ValueError, match="consent status"):
        ConsentChange(THEIRS, OURS, "maybe", ConsentSource.OPERATOR, T0)  # type: ignore[arg-type]


def _fields(outgoing: Outgoing) -> dict[str, object]:
    return {name: getattr(outgoing, name) for name in Outgoing.__slots__}
