"""The store's consent-ledger and window methods: the contract every backend must keep.

Written against the ``store`` fixture so a backend is added by adding it to ``BACKENDS``
(the PostgreSQL store joins the same way it joins the core contract suite).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import ConflictError
from storage.base import Store
from storage.records import (
    OPTED_IN,
    OPTED_OUT,
    ConsentChange,
    ConsentSource,
    ConsentStatus,
    Contact,
    Conversation,
    Direction,
    LogEntry,
    TurnWrite,
)
from storage.sqlite import SQLiteStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
P, OURS, SERVICE = "+15550001111", "+15550100000", "MG" + "1" * 32
WA = "whatsapp:+15550100000:+15550001111"
BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened = SQLiteStore(tmp_path / "contract.db")
    await opened.open()
    yield opened
    await opened.close()


def change(status: str, at: datetime = T0, scope: str = OURS, **kw: str) -> ConsentChange:
    source = ConsentSource(kw.pop("source", ConsentSource.OPERATOR))
    return ConsentChange(P, scope, ConsentStatus(status), source, at, **kw)


def turn(version: int, at: datetime, *consent: ConsentChange, touch: bool = False) -> TurnWrite:
    c = Conversation(WA, "f", "s", {}, version, "whatsapp", "whatsapp:" + OURS, "whatsapp:" + P)
    log = [LogEntry(WA, Direction.IN, "message", "hi", at)]
    return TurnWrite(c, log, (), "<Response />", at, consent=consent, touch_window=touch)


async def test_a_stranger_has_given_no_opt_out_and_no_window(store: Store) -> None:
    assert await store.contact(OURS, P, WA) == Contact(False, None)
    assert await store.contact(OURS, P, None) == Contact(False, None)
    assert await store.consent_history(P) == []


async def test_the_latest_change_in_a_scope_decides(store: Store) -> None:
    await store.record_consent(change(OPTED_OUT, detail="first"))
    await store.record_consent(change(OPTED_OUT, scope=SERVICE))
    await store.record_consent(change(OPTED_IN, T0 + timedelta(hours=1), source="api"))
    assert (await store.contact(OURS, P, None)).opted_out is False
    assert (await store.contact(SERVICE, P, None)).opted_out is True
    assert (await store.contact(OURS, "+15550002222", None)).opted_out is False
    history = await store.consent_history(P)
    assert history == [
        change(OPTED_OUT, detail="first"),
        change(OPTED_OUT, scope=SERVICE),
        change(OPTED_IN, T0 + timedelta(hours=1), source="api"),
    ]


async def test_a_turn_writes_consent_and_window_with_it(store: Store) -> None:
    stop = change(OPTED_OUT, source="keyword", channel="whatsapp", detail="'STOP', SM1")
    assert await store.commit(turn(1, T0, stop, touch=True)) is None
    assert await store.contact(OURS, P, WA) == Contact(True, T0)
    later = T0 + timedelta(hours=3)
    assert await store.commit(turn(2, later, touch=True)) is None
    assert (await store.contact(OURS, P, WA)).last_inbound == later


async def test_a_conflicting_turn_writes_no_consent_and_no_window(store: Store) -> None:
    await store.commit(turn(1, T0, touch=True))
    stale = turn(1, T0 + timedelta(hours=1), change(OPTED_OUT), touch=True)
    with pytest.raises(ConflictError):
        await store.commit(stale)
    assert await store.consent_history(P) == []
    assert (await store.contact(OURS, P, WA)).last_inbound == T0


async def test_close_window_respects_later_inbound_messages(store: Store) -> None:
    assert await store.close_window(WA, T0) is False  # nothing was open
    await store.commit(turn(1, T0, touch=True))
    assert await store.close_window(WA, T0 - timedelta(minutes=1)) is False  # they wrote since
    assert (await store.contact(OURS, P, WA)).last_inbound == T0
    assert await store.close_window(WA, T0 + timedelta(hours=1)) is True
    assert (await store.contact(OURS, P, WA)).last_inbound is None
    await store.commit(turn(2, T0 + timedelta(hours=2), touch=True))
    assert (await store.contact(OURS, P, WA)).last_inbound == T0 + timedelta(hours=2)
