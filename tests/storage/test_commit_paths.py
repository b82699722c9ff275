"""Where a SQLite turn commits (storage/sqlite/writer.py): on the loop's thread when the write
lock is free at once, else on the connection's thread; the loop never waits for a lock."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import ConflictError
from storage.records import TurnWrite
from storage.sqlite import SQLiteStore
from storage.sqlite.writer import CHECKPOINT_EVERY
from tests.storage.test_contract import conv, write


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    sqlite = SQLiteStore(tmp_path / "paths.db")
    await sqlite.open()
    yield sqlite
    await sqlite.close()


def _stored(path: Path, key: str) -> bool:
    """Read by a connection of its own: what another process would see."""
    with sqlite3.connect(path) as other:
        return (
            other.execute("SELECT 1 FROM conversations WHERE key = ?", (key,)).fetchone()
            is not None
        )


async def _loop_keeps_running_while(task: asyncio.Future[str | None]) -> None:
    ticks = 0
    for _ in range(20):
        await asyncio.sleep(0.005)
        ticks += 1
    assert not task.done() and ticks == 20


async def test_a_commit_on_the_loop_thread_is_stored_before_it_returns(
    store: SQLiteStore, tmp_path: Path
) -> None:
    assert await store.commit(write(conv("sms:+1:+2"), ("msg:SM1",))) is None
    assert _stored(tmp_path / "paths.db", "sms:+1:+2")
    dup = write(conv("sms:+1:+2", version=2), ("msg:SM1",), response="<again/>")
    assert await store.commit(dup) == "<Response/>"  # the first answer; nothing written


async def test_a_commit_waits_on_its_thread_for_a_flock_held_elsewhere(
    store: SQLiteStore, tmp_path: Path
) -> None:
    fd = os.open(tmp_path / "paths.db-lock", os.O_RDWR)  # another process's commit, in effect
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        task = asyncio.ensure_future(store.commit(write(conv("sms:+1:+3"), ("msg:SM3",))))
        await _loop_keeps_running_while(task)
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert await asyncio.wait_for(task, 5) is None
    finally:
        os.close(fd)
    assert _stored(tmp_path / "paths.db", "sms:+1:+3")


async def test_a_writer_without_the_flock_does_not_stall_the_loop(
    store: SQLiteStore, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "paths.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the sqlite3 shell, say: SQLite's write lock only
        task = asyncio.ensure_future(store.commit(write(conv("sms:+1:+4"), ("msg:SM4",))))
        await _loop_keeps_running_while(task)
        other.execute("COMMIT")
        assert await asyncio.wait_for(task, 5) is None
    finally:
        other.close()
    assert _stored(tmp_path / "paths.db", "sms:+1:+4")


async def test_the_wal_is_checkpointed_apart_from_the_commits(
    store: SQLiteStore, tmp_path: Path
) -> None:
    wal = tmp_path / "paths.db-wal"
    for n in range(CHECKPOINT_EVERY - 1):  # no checkpoint yet
        await store.commit(write(conv(f"sms:+1:+{n}"), (f"msg:A{n}",)))
    first = wal.stat().st_size
    for n in range(3 * CHECKPOINT_EVERY):
        await store.commit(write(conv(f"sms:+2:+{n}"), (f"msg:B{n}",)))
        await asyncio.sleep(0)  # let a checkpoint run on the connection's thread
    await asyncio.sleep(0.2)
    assert wal.stat().st_size < 2.5 * first  # without checkpoints: about 4 ×


async def test_the_wal_stays_bounded_while_turns_keep_the_loop_busy(
    store: SQLiteStore, tmp_path: Path
) -> None:
    """Back-to-back commits that never give the loop a pass: the checkpoint must not wait
    for one (it did, and the WAL grew without bound: issue 18)."""
    wal = tmp_path / "paths.db-wal"
    for n in range(CHECKPOINT_EVERY - 1):
        await store.commit(write(conv(f"sms:+5:+{n}"), (f"msg:D{n}",)))
    first = wal.stat().st_size
    largest = first
    for n in range(6 * CHECKPOINT_EVERY):
        await store.commit(write(conv(f"sms:+6:+{n}"), (f"msg:E{n}",)))
        largest = max(largest, wal.stat().st_size)
    # without checkpoints: about 7 ×; with the loop retaking the flock between commits, up
    # to 3 × (the checkpoint starved); queued behind a checkpoint once it starts: 1.02 ×,
    # except that now and then the commit after a checkpoint does not wrap the WAL round
    # (SQLite's restart missed: seen on a 2-core Intel VM from the WAL header's checkpoint
    # counter) and that cycle appends: up to 1.97 × there, bounded from then on
    assert largest < 2.5 * first


async def test_a_failed_checkpoint_says_so_and_the_turns_go_on(
    store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointer = store._checkpointer
    assert checkpointer is not None
    assert checkpointer._conn is not None
    checkpointer._conn.close()  # every checkpoint from now on fails
    with caplog.at_level(logging.WARNING, logger="switchboard.storage"):
        for n in range(2 * CHECKPOINT_EVERY + 1):
            await store.commit(write(conv(f"sms:+7:+{n}"), (f"msg:F{n}",)))
        started = checkpointer.last
        assert started is not None
        await asyncio.wrap_future(started)  # the last one started has run (and failed)
    failures = [r for r in caplog.records if "WAL checkpoint of" in r.getMessage()]
    assert failures and "failed" in failures[0].getMessage()
    assert (await store.load(f"sms:+7:+{2 * CHECKPOINT_EVERY}", [])).conversation is not None


async def test_a_long_reader_does_not_hold_commits_up_at_a_checkpoint(
    store: SQLiteStore, tmp_path: Path
) -> None:
    await store.commit(write(conv("sms:+3:+first"), ("msg:first",)))  # frames in the WAL
    reader = sqlite3.connect(tmp_path / "paths.db", isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM conversations").fetchone()  # holds that snapshot
        for n in range(250):  # two checkpoints start on the way, while the reader holds on
            await asyncio.wait_for(store.commit(write(conv(f"sms:+3:+{n}"), (f"msg:C{n}",))), 5)
            await asyncio.sleep(0.001)
    finally:
        reader.close()
    assert _stored(tmp_path / "paths.db", "sms:+3:+249")


async def test_turns_under_way_together_share_one_transaction_on_the_loop(
    store: SQLiteStore,
) -> None:
    await store.commit(write(conv("sms:+4:+a"), ("msg:A1",), response="<first/>"))
    await store.commit(write(conv("sms:+4:+b"), ("msg:B1",)))
    before = store._commits  # transactions since the last checkpoint

    async def turn(w: TurnWrite) -> str | None:
        async with store.hold(w.conversation.key):
            await asyncio.sleep(0)  # every turn is under way before the first commits
            return await store.commit(w)

    outcomes = await asyncio.gather(
        turn(write(conv("sms:+4:+a", version=2), ("msg:A1",))),  # a duplicate
        turn(write(conv("sms:+4:+b", version=3), ("msg:B3",))),  # skipped version 2
        turn(write(conv("sms:+4:+c"), ("msg:C1",), response="<c/>")),
        return_exceptions=True,
    )
    assert outcomes[0] == "<first/>" and outcomes[2] is None
    assert isinstance(outcomes[1], ConflictError)
    assert store._commits == before + 1  # one transaction, a SAVEPOINT each
    assert (await store.load("sms:+4:+b", ["msg:B3"])).response is None  # undone alone
    assert (await store.load("sms:+4:+c", ["msg:C1"])).response == "<c/>"
