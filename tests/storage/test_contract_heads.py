"""The store contract for contact heads (SQLite and PostgreSQL): a turn's commit fails when a
contact it read changed since (``TurnWrite.contacts``), so nothing decided on stale consent
or a stale WhatsApp window is written or sent.

The last test is the engine-level regression for "a reply to a person who opted out in the
meantime": two engines (two processes' worth of stores and pools) on one database.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from bot import Router
from bot.compliance.gate import Gate
from bot.engine.engine import Engine
from bot.errors import ConflictError
from bot.events.parse import parse_inbound
from bot.flow.definition import compile_flow
from bot.twiml.render import EMPTY
from flows import SupportFlow
from storage import Store, open_store
from storage.records import (
    OPTED_IN,
    OPTED_OUT,
    ConsentChange,
    ConsentSource,
    ConsentStatus,
    Contact,
    Conversation,
    TurnWrite,
)
from tests.test_consent_race import Stall

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NUMBER, PERSON = "+15550100000", "+15550001111"
SMS_KEY, WA_KEY = f"sms:{NUMBER}:{PERSON}", f"whatsapp:{NUMBER}:{PERSON}"


def change(status: str, scope: str = NUMBER, person: str = PERSON) -> ConsentChange:
    return ConsentChange(
        person, scope, ConsentStatus(status), ConsentSource.KEYWORD, T0, "sms", "STOP"
    )


def turn(contacts: tuple[Contact, ...], version: int = 1, **kw: object) -> TurnWrite:
    c = Conversation(SMS_KEY, "support", "menu", {}, version, "sms", NUMBER, PERSON)
    return TurnWrite(c, (), (f"SM{version}",), "<Response/>", T0, contacts=contacts, **kw)  # type: ignore[arg-type]


async def test_a_contact_says_where_it_was_read_and_its_head_moves_with_it(store: Store) -> None:
    before = await store.contact(NUMBER, PERSON, WA_KEY)
    assert (before.scope, before.person, before.window) == (NUMBER, PERSON, WA_KEY)
    assert before.head and before == Contact(False, None)  # heads are not part of equality
    assert (await store.contact(NUMBER, PERSON, WA_KEY)).head == before.head  # stable
    await store.record_consent(change(OPTED_OUT))
    out = await store.contact(NUMBER, PERSON, WA_KEY)
    assert out.head != before.head
    wa = Conversation(WA_KEY, "support", "menu", {}, 1, "whatsapp", NUMBER, PERSON)
    await store.commit(TurnWrite(wa, (), (), "<R/>", T0, touch_window=True))
    touched = await store.contact(NUMBER, PERSON, WA_KEY)
    assert touched.head not in (before.head, out.head)
    await store.close_window(WA_KEY, T0)
    closed = await store.contact(NUMBER, PERSON, WA_KEY)
    # the window part is its state, not a counter: closed again reads as before it opened,
    # which a turn that read it then may rely on (the consent part only ever grows)
    assert closed.head != touched.head and closed.head == out.head


async def test_a_turn_commits_when_what_it_read_is_unchanged(store: Store) -> None:
    seen = await store.contact(NUMBER, PERSON, None)
    # its own consent change does not count against it
    assert await store.commit(turn((seen,), consent=(change(OPTED_OUT),))) is None
    again = await store.contact(NUMBER, PERSON, None)
    assert again.opted_out and again.head != seen.head
    assert await store.commit(turn((again,), version=2)) is None


async def test_a_consent_change_since_the_read_fails_the_turn_and_writes_nothing(
    store: Store,
) -> None:
    seen = await store.contact(NUMBER, PERSON, None)
    await store.record_consent(change(OPTED_OUT))
    for rolled_back in (False, True):
        with pytest.raises(ConflictError):
            await store.commit(turn((seen,), save_state=not rolled_back))
    assert await store.conversation(SMS_KEY) is None
    assert await store.log(SMS_KEY) == []
    assert (await store.load(SMS_KEY, ["SM1"])).response is None
    # back in again: the status is what it was when read, but the ledger moved on
    await store.record_consent(change(OPTED_IN))
    with pytest.raises(ConflictError):
        await store.commit(turn((seen,)))


async def test_a_window_touched_or_closed_since_the_read_fails_the_turn(store: Store) -> None:
    wa = Conversation(WA_KEY, "support", "menu", {}, 1, "whatsapp", NUMBER, PERSON)
    await store.commit(TurnWrite(wa, (), (), "<R/>", T0, touch_window=True))
    seen = await store.contact(NUMBER, PERSON, WA_KEY)
    await store.close_window(WA_KEY, T0 + timedelta(seconds=1))  # Twilio said 63016
    with pytest.raises(ConflictError):
        await store.commit(turn((seen,)))
    seen = await store.contact(NUMBER, PERSON, WA_KEY)
    wa2 = Conversation(WA_KEY, "support", "menu", {}, 2, "whatsapp", NUMBER, PERSON)
    await store.commit(TurnWrite(wa2, (), (), "<R/>", T0 + timedelta(hours=1), touch_window=True))
    with pytest.raises(ConflictError):
        await store.commit(turn((seen,)))


async def test_changes_for_other_people_scopes_and_windows_do_not_fail_the_turn(
    store: Store,
) -> None:
    seen = await store.contact(NUMBER, PERSON, None)
    third = await store.contact(NUMBER, "+15550002222", None)
    await store.record_consent(change(OPTED_OUT, scope="+15550199999"))
    await store.record_consent(change(OPTED_OUT, person="+15550003333"))
    await store.close_window(WA_KEY, T0)  # a window this turn did not read
    assert await store.commit(turn((seen, third))) is None


def inbound(body: str, sid: str, whatsapp: bool = False) -> object:
    prefix = "whatsapp:" if whatsapp else ""
    return parse_inbound(MultiDict([
        ("From", prefix + PERSON), ("To", prefix + NUMBER), ("MessageSid", sid), ("Body", body),
    ]))  # fmt: skip


async def test_a_stop_from_another_process_silences_a_turn_that_read_consent_before_it(
    url: str,
) -> None:
    """SMS STOP in one process while the person's WhatsApp turn runs in another."""
    flows = {"support": compile_flow(SupportFlow)}
    stores = [open_store(url, auto_migrate=True) for _ in range(2)]
    for s in stores:
        await s.open()
    try:
        one, two = (Engine(s, flows, Router(default="support"), Gate(s)) for s in stores)
        await two.handle(inbound("hi", "SM0", whatsapp=True))  # type: ignore[arg-type]
        stall = Stall(stores[1], lambda scope, person, window: window is not None)
        task = asyncio.ensure_future(two.handle(inbound("3", "SMhours", whatsapp=True)))  # type: ignore[arg-type]
        await asyncio.wait_for(stall.read.wait(), 10)
        stop = await one.handle(inbound("STOP", "SMstop"))  # type: ignore[arg-type]
        stall.released.set()
        assert "unsubscribed" in stop
        assert await asyncio.wait_for(task, 10) == EMPTY
        assert stall.reads == 2
        log = await stores[0].log(WA_KEY)
        assert (log[-1].body, log[-1].meta) == ("3", {"suppressed": "opted_out"})
        assert all(e.direction == "in" for e in log[2:])
    finally:
        for s in stores:
            await s.close()
