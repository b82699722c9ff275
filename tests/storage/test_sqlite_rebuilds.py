"""SQLite's issue-18 migrations rebuild tables of a database already holding data (idempotency
keyed WITHOUT ROWID, message_log without AUTOINCREMENT), and what a turn's commit may skip."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.errors import ConflictError
from storage.migrations import migrations
from storage.records import Conversation, Direction, LogEntry, Timer, TurnWrite
from storage.sqlite import SQLiteStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KEY = "sms:+15550100000:+15550001111"
REBUILDS = 15  # the first of them


def entry(body: str) -> LogEntry:
    return LogEntry(KEY, Direction.IN, "message", body, T0, channel="sms")


def turn(version: int, state: str, *, idem: str, timers: tuple[Timer, ...] = ()) -> TurnWrite:
    c = Conversation(KEY, "notify", state, {}, version, "sms", "+15550100000", "+15550001111")
    return TurnWrite(c, (entry(f"v{version}"),), (idem,), f"<r{version}/>", T0, timers=timers)


def timer(state: str) -> Timer:
    return Timer(KEY, "nudge", "beep", "notify", "sms", "+15550100000", "+15550001111", T0,
                 state=state, payload={})  # fmt: skip


async def test_the_rebuilds_keep_rows_ids_and_constraints(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = SQLiteStore(path, auto_migrate=False)
    await store.connect()
    try:
        for step in migrations("sqlite"):
            if step.version < REBUILDS:
                await store.apply_migration(step)
        for n in range(1, 6):  # a database in use: log rows, idempotency records
            await store.commit(turn(n, f"s{n}", idem=f"SM{n}"))
        before = await store.log(KEY)
        for step in migrations("sqlite"):
            if step.version >= REBUILDS:
                assert await store.apply_migration(step)
        await store.check_schema()
        assert await store.log(KEY) == before
        assert (await store.load(KEY, ["SM3"])).response == "<r3/>"
        assert await store.commit(turn(6, "s6", idem="SM2")) == "<r2/>"  # still a duplicate
        await store.commit(turn(6, "s6", idem="SM6"))
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    ids = [row[0] for row in conn.execute("SELECT id FROM message_log ORDER BY id")]
    assert ids == list(range(1, 7))  # kept, and the next one follows the largest
    schema = dict(conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'table'"))
    assert "WITHOUT ROWID" in schema["idempotency"] and "AUTOINCREMENT" not in schema["message_log"]
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE tbl_name = ?",
                                              ("message_log",))}  # fmt: skip
    assert "message_log_conversation" in indexes
    conn.close()


async def test_a_timer_set_after_a_load_elsewhere_is_still_dropped(tmp_path: Path) -> None:
    """A conversation read without timers skips the timers' DELETE at its next version only:
    another process that set a timer moved the version, so the stale read's commit conflicts,
    and the next read sees the timer."""
    path = tmp_path / "shared.db"
    here, there = SQLiteStore(path), SQLiteStore(path)
    await here.open()
    await there.open()
    try:
        await here.commit(turn(1, "a", idem="SM1"))
        assert (await here.load(KEY, ["SM2"])).conversation is not None  # v1, no timers
        await there.load(KEY, ["SM2"])
        await there.commit(turn(2, "a", idem="SM2", timers=(timer("a"),)))
        with pytest.raises(ConflictError):
            await here.commit(turn(2, "b", idem="SM3"))
        loaded = (await here.load(KEY, ["SM3"])).conversation
        assert loaded is not None and loaded.version == 2
        await here.commit(turn(3, "b", idem="SM3"))  # leaves state a: its timer goes
        assert await here.timers(KEY) == []
    finally:
        await here.close()
        await there.close()


async def test_the_no_timers_memo_is_spent_by_the_commit_it_serves(tmp_path: Path) -> None:
    """A turn read without timers skips the DELETE at its commit, and the memo of that read
    is dropped there: it holds the turns under way, not one entry per caller ever seen (the
    memory bench grew 132 B per caller while it did)."""
    store = SQLiteStore(tmp_path / "memo.db")
    await store.open()
    statements: list[str] = []
    try:
        for n in range(40):
            key = f"sms:+15550100000:+1555000{n:04d}"
            for version, state in ((1, "a"), (2, "b")):  # the second turn leaves state a
                await store.load(key, [f"SM{n}-{version}"])
                c = Conversation(key, "notify", state, {}, version, "sms", "+15550100000",
                                 f"+1555000{n:04d}")  # fmt: skip
                if n == 39 and version == 2:
                    assert store._here is not None
                    store._here.conn.set_trace_callback(statements.append)
                await store.commit(TurnWrite(c, (), (f"SM{n}-{version}",), "<r/>", T0))
        assert not store._timerless  # every read's fact spent by its commit
        assert statements and not any("FROM timers" in s for s in statements)
    finally:
        await store.close()
