"""SQLite's issue-18 migrations rebuild tables of a database already holding data (idempotency
keyed WITHOUT ROWID, message_log without AUTOINCREMENT), and what a turn's commit may skip."""

from __future__ import annotations

import sqlite3
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.errors import ConflictError
from storage.migrations import migrations
from storage.records import Conversation, Direction, LogEntry, Timer, TurnWrite
from storage.sqlite import SQLiteStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KEY = "sms:+15550100000:+15550001111"
REBUILDS = 15  # the first of them
MINUTE = 18  # conversations.active_minute


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
        for step in migrations("sqlite"):  # and 0018, which a turn's INSERT names
            if step.version < REBUILDS or step.version == MINUTE:
                await store.apply_migration(step)
        for n in range(1, 6):  # a database in use: log rows, idempotency records
            await store.commit(turn(n, f"s{n}", idem=f"SM{n}"))
        before = await store.log(KEY)
        for step in migrations("sqlite"):  # out of number order, as the runner allows
            if REBUILDS <= step.version != MINUTE:
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
    minutes = conn.execute("SELECT active_minute, substr(updated_at, 1, 16) FROM conversations")
    assert [a == b for a, b in minutes] == [True]
    conn.close()


async def test_0018_fills_the_minute_in_for_the_conversations_there(tmp_path: Path) -> None:
    path = tmp_path / "before.db"
    store = SQLiteStore(path, auto_migrate=False)
    await store.connect()
    try:
        for step in migrations("sqlite"):
            if step.version < MINUTE:
                await store.apply_migration(step)
        conn = sqlite3.connect(path)
        conn.execute(  # a row as a release before 0018 wrote it
            "INSERT INTO conversations (key, flow, state, data, version, closed, channel, ours, "
            "theirs, created_at, updated_at, flow_version, flow_shape, stack) VALUES "
            "(?, 'notify', 'a', '{}', 3, 0, 'sms', '+1', '+2', ?, ?, 'v', 's', '[]')",
            (KEY, "2026-01-05T09:00:00+00:00", "2026-01-05T09:41:59.5+00:00"),
        )
        conn.commit()
        conn.close()
        for step in migrations("sqlite"):
            if step.version >= MINUTE:
                assert await store.apply_migration(step)
        await store.check_schema()
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT active_minute FROM conversations").fetchall() == [
            ("2026-01-05T09:41",)
        ]
    finally:
        conn.close()


RECENCY = {"conversations_open", "conversations_state", "conversations_channel"}


def _trees_written(path: Path) -> set[str]:
    """The b-trees with a page in the WAL (checkpointed away before the commit looked at)."""
    wal = path.with_name(path.name + "-wal").read_bytes()
    size = 24 + struct.unpack(">I", wal[8:12])[0]
    pages = {struct.unpack(">I", wal[at : at + 4])[0] for at in range(32, len(wal), size)}
    conn = sqlite3.connect(path)
    try:
        owner = dict(conn.execute("SELECT pageno, name FROM dbstat"))
    finally:
        conn.close()
    return {str(owner.get(page)) for page in pages}


def _checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    finally:
        conn.close()


async def test_a_turn_within_the_minute_leaves_the_recency_indexes_alone(tmp_path: Path) -> None:
    """Migration 0018: the admin lists' indexes hold the minute of updated_at, set by a
    trigger only when it changes, so the turns of a minute rewrite none of their pages."""
    path = tmp_path / "minute.db"
    store = SQLiteStore(path)
    await store.open()
    c = Conversation(KEY, "notify", "a", {}, 1, "sms", "+15550100000", "+15550001111")
    try:
        await store.commit(
            TurnWrite(c, (entry("v1"),), ("SM1",), "<r/>", T0 + timedelta(seconds=5))
        )
        _checkpoint(path)
        await store.load(KEY, ["SM2"])  # as a turn does: the commit knows what it read
        c = Conversation(KEY, "notify", "a", {}, 2, "sms", "+15550100000", "+15550001111")
        await store.commit(
            TurnWrite(c, (entry("v2"),), ("SM2",), "<r/>", T0 + timedelta(seconds=40))
        )
        written = _trees_written(path)
        assert "conversations" in written and not written & RECENCY
        _checkpoint(path)
        await store.load(KEY, ["SM3"])
        c = Conversation(KEY, "notify", "a", {}, 3, "sms", "+15550100000", "+15550001111")
        await store.commit(
            TurnWrite(c, (entry("v3"),), ("SM3",), "<r/>", T0 + timedelta(seconds=65))
        )
        assert _trees_written(path) >= RECENCY  # the next minute moves them
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    try:  # any writer of updated_at keeps the minute: the sqlite3 shell, a tool, a test
        conn.execute("UPDATE conversations SET updated_at = ? WHERE key = ?",
                     ("2026-01-05T10:17:03.250000+00:00", KEY))  # fmt: skip
        conn.commit()
        assert conn.execute("SELECT active_minute FROM conversations").fetchone() == (
            "2026-01-05T10:17",
        )
    finally:
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
