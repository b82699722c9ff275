"""Group commit (storage/group.py): concurrent turns share a transaction, each keeps its fate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import ConflictError
from storage.group import GroupCommit
from storage.sqlite import SQLiteStore
from tests.storage.test_contract import conv, write


@pytest.fixture(params=["NORMAL", "FULL"])  # commits on the loop's thread; on the connection's
async def sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "group.db", synchronous=request.param)
    await store.open()
    yield store
    await store.close()


async def test_writes_queued_while_one_is_in_flight_go_together() -> None:
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def write_batch(items: list[int]) -> list[int | BaseException]:
        batches.append(items)
        await release.wait()
        return [item * 10 if item != 3 else ValueError("three") for item in items]

    group: GroupCommit[int, int] = GroupCommit(write_batch)
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0)  # the first batch is in flight with [1]
    rest = [asyncio.ensure_future(group.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 10
    outcomes = await asyncio.gather(*rest, return_exceptions=True)
    assert outcomes[0] == 20 and outcomes[2] == 40
    assert isinstance(outcomes[1], ValueError)
    assert batches == [[1], [2, 3, 4]]


async def test_a_failing_batch_fails_each_of_its_writes_and_the_next_batch_still_runs() -> None:
    calls = 0

    async def write_batch(items: list[str]) -> list[str | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        return list(items)

    group: GroupCommit[str, str] = GroupCommit(write_batch)
    failed = await asyncio.gather(group.submit("a"), group.submit("b"), return_exceptions=True)
    assert all(isinstance(outcome, OSError) for outcome in failed)
    assert await group.submit("c") == "c"


async def test_a_cancelled_request_still_has_its_turn_written(tmp_path: Path) -> None:
    # FULL: the commit goes to the connection's thread (it syncs), where a cancel can land
    sqlite = SQLiteStore(tmp_path / "full.db", synchronous="FULL")
    await sqlite.open()
    try:
        task = asyncio.ensure_future(sqlite.commit(write(conv("sms:+1:+2"), ("msg:SM1",))))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _until_written(sqlite)
    finally:
        await sqlite.close()


async def _until_written(sqlite: SQLiteStore) -> None:
    for _ in range(100):
        if await sqlite.conversation("sms:+1:+2") is not None:
            break
        await asyncio.sleep(0.01)
    assert (await sqlite.load("sms:+1:+2", ["msg:SM1"])).response == "<Response/>"


async def test_in_one_batch_a_duplicate_and_a_conflict_undo_only_themselves(
    sqlite: SQLiteStore,
) -> None:
    await sqlite.commit(write(conv("sms:+1:+a"), ("msg:A1",), response="<first/>"))
    await sqlite.commit(write(conv("sms:+1:+b"), ("msg:B1",)))
    outcomes = await asyncio.gather(
        sqlite.commit(write(conv("sms:+1:+a", version=2), ("msg:A1",))),  # duplicate
        sqlite.commit(write(conv("sms:+1:+b", version=3), ("msg:B3",))),  # skipped version 2
        sqlite.commit(write(conv("sms:+1:+c"), ("msg:C1",), response="<c/>")),
        return_exceptions=True,
    )
    assert outcomes[0] == "<first/>"
    assert isinstance(outcomes[1], ConflictError)
    assert outcomes[2] is None
    for x in "abc":
        stored = await sqlite.conversation(f"sms:+1:+{x}")
        assert stored is not None and stored.version == 1
    assert (await sqlite.load("sms:+1:+b", ["msg:B3"])).response is None  # rolled back
    assert len(await sqlite.log("sms:+1:+b")) == 1
    assert (await sqlite.load("sms:+1:+c", ["msg:C1"])).response == "<c/>"


async def test_two_stores_on_one_file_commit_in_turn_through_the_writer_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    one, two = SQLiteStore(path), SQLiteStore(path)
    await one.open()
    await two.open()
    try:
        assert (tmp_path / "shared.db-lock").exists()
        await asyncio.gather(
            *(store.commit(write(conv(f"sms:+1:+{n}"), (f"msg:SM{n}",)))
              for n in range(60) for store in [(one, two)[n % 2]])
        )  # fmt: skip
        for n in range(60):
            assert await (two, one)[n % 2].conversation(f"sms:+1:+{n}") is not None
    finally:
        await one.close()
        await two.close()
