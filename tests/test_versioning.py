"""Two processes sharing one database cannot lose each other's update."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import ConflictError
from bot.testing import Harness
from flows import build
from storage.records import Conversation, TurnWrite
from storage.sqlite import SQLiteStore

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def write(version: int, state: str, idem: str) -> TurnWrite:
    conversation = Conversation(
        key="k", flow="f", state=state, data={"v": version}, version=version,
        channel="sms", ours="+1", theirs="+2",
    )  # fmt: skip
    return TurnWrite(conversation, [], [idem], f"<r{version}/>", NOW)


async def test_a_stale_writer_gets_a_conflict_not_a_lost_update(tmp_path: Path) -> None:
    first, second = SQLiteStore(tmp_path / "db"), SQLiteStore(tmp_path / "db")
    await first.open()
    await second.open()
    try:
        assert await first.commit(write(1, "a", "i1")) is None
        assert (await second.load("k", [])).conversation is not None
        assert await first.commit(write(2, "b", "i2")) is None
        with pytest.raises(ConflictError):
            await second.commit(write(2, "c", "i3"))  # based on version 1: refused
        stored = await second.conversation("k")
        assert stored is not None and (stored.state, stored.version) == ("b", 2)
        # The failed commit wrote nothing, its idempotency record included.
        assert (await second.load("k", ["i3"])).response is None
    finally:
        await first.close()
        await second.close()


async def test_a_duplicate_recorded_by_another_process_returns_its_response(
    tmp_path: Path,
) -> None:
    first, second = SQLiteStore(tmp_path / "db"), SQLiteStore(tmp_path / "db")
    await first.open()
    await second.open()
    try:
        assert await first.commit(write(1, "a", "same")) is None
        assert await second.commit(write(1, "a", "same")) == "<r1/>"
    finally:
        await first.close()
        await second.close()


async def test_two_apps_on_one_file_apply_every_message_once(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    async with Harness(build, db_path=db) as one, Harness(build, db_path=db) as two:
        caller = "+15550004444"
        sends = []
        for i in range(30):
            app = one if i % 2 else two
            sends.append(app.phone(caller).send(["1", "question?", "3"][i % 3], sid=f"SM{i:032d}"))
        replies = await asyncio.gather(*sends)
        assert all(reply.status == 200 for reply in replies)
        stored = await one.store.conversation(f"sms:+15550100000:{caller}")
        assert stored is not None and stored.version == 30
        inbound = [e for e in await two.store.log(stored.key) if e.direction == "in"]
        assert len(inbound) == 30 and len({e.sid for e in inbound}) == 30
        # Each step started from the state the previous one left.
        for before, after in itertools.pairwise(inbound):
            assert after.state_before == before.state_after
