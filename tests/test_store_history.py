"""``Store.history``: the caller's latest earlier conversations, the contract for backends.

A new call starts knowing them (``turn.history``). Add a backend to ``BACKENDS`` to hold it
to the same contract.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.base import Conversation, LogEntry, Store, TurnWrite
from storage.sqlite import SQLiteStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
P, OURS = "+15550001111", "+15550100000"
BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened = SQLiteStore(tmp_path / "history.db")
    await opened.open()
    yield opened
    await opened.close()


async def _write(store: Store, key: str, theirs: str, at: datetime, version: int = 1) -> None:
    channel = key.partition(":")[0]
    c = Conversation(key, "ivr", "menu", {"n": key}, version, channel, OURS, theirs)
    log = [LogEntry(key, "in", "call", "", at)]
    assert await store.commit(TurnWrite(c, log, (), "<Response />", at)) is None


async def test_history_is_newest_first_without_the_current_one(store: Store) -> None:
    await _write(store, "voice:CA1", P, T0)
    await _write(store, "voice:CA2", P, T0 + timedelta(minutes=5))
    await _write(store, "sms:+15550100000:+15550001111", P, T0 + timedelta(minutes=1))
    await _write(store, "voice:CA3", "+15550002222", T0 + timedelta(minutes=9))
    await _write(store, "voice:CA1", P, T0 + timedelta(minutes=7), version=2)  # CA1 again
    found = await store.history(P, exclude="voice:CA2")
    assert [c.key for c in found] == ["voice:CA1", "sms:+15550100000:+15550001111"]
    assert found[0].data == {"n": "voice:CA1"} and found[0].version == 2
    assert [c.key for c in await store.history(P, limit=1)] == ["voice:CA1"]
    assert await store.history("+15559999999") == []
