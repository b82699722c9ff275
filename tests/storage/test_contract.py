"""The store contract: every backend behaves the same (SQLite and PostgreSQL).

PostgreSQL runs against SWITCHBOARD_TEST_POSTGRES_URL (see bot/testing/databases.py), each
test in a schema of its own.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.errors import ConflictError, SchemaError, StoreError
from storage import Store, open_store
from storage.migrations import migrations
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

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DATA: dict[str, Any] = {
    "name": 'Zoë 👋 "quoted" \\ back',
    "tickets": ["one", "two"],
    "nested": {"ok": True, "none": None, "n": 2**53, "x": 1.5, "empty": {}},
}


def conv(key: str = "sms:+1555:+1666", version: int = 1, **kw: Any) -> Conversation:
    fields: dict[str, Any] = dict(
        flow="support", state="menu", data={}, channel="sms", ours="+1555", theirs="+1666"
    )
    fields.update(kw)
    return Conversation(key=key, version=version, **fields)


def entry(key: str, body: str, at: datetime = T0, **kw: Any) -> LogEntry:
    return LogEntry(
        conversation=key, direction=Direction.IN, kind="message", body=body, at=at, **kw
    )


def write(
    c: Conversation,
    idem: tuple[str, ...] = (),
    response: str = "<Response/>",
    log: tuple[LogEntry, ...] | None = None,
    at: datetime = T0,
    save_state: bool = True,
) -> TurnWrite:
    entries = (entry(c.key, f"turn {c.version}", at),) if log is None else log
    return TurnWrite(c, entries, idem, response, at, save_state=save_state)


async def test_unknown_conversation_loads_as_nothing(store: Store) -> None:
    loaded = await store.load("sms:+1:+2", ["SMnope"])
    assert (loaded.response, loaded.conversation) == (None, None)
    assert await store.conversation("sms:+1:+2") is None
    assert await store.log("sms:+1:+2") == []


async def test_commit_then_load_round_trips_every_field(store: Store) -> None:
    c = conv(data=DATA, state="question", closed=True)
    assert await store.commit(write(c)) is None
    got = await store.conversation(c.key)
    assert got is not None
    assert (got.key, got.flow, got.state, got.data, got.version, got.closed) == (
        c.key, "support", "question", DATA, 1, True,
    )  # fmt: skip
    assert (got.channel, got.ours, got.theirs) == ("sms", "+1555", "+1666")
    assert got.created_at == T0 and got.updated_at == T0


async def test_versions_advance_and_created_at_stays(store: Store) -> None:
    await store.commit(write(conv()))
    later = T0 + timedelta(minutes=5)
    await store.commit(write(conv(version=2, state="question", data={"a": 1}), at=later))
    got = await store.conversation(conv().key)
    assert got is not None
    assert (got.version, got.state, got.data) == (2, "question", {"a": 1})
    assert (got.created_at, got.updated_at) == (T0, later)


async def test_stale_version_conflicts_and_writes_nothing(store: Store) -> None:
    await store.commit(write(conv(), idem=("SM1",)))
    with pytest.raises(ConflictError):
        await store.commit(write(conv(version=3, state="x"), idem=("SM2",)))
    got = await store.conversation(conv().key)
    assert got is not None and (got.version, got.state) == (1, "menu")
    assert [e.body for e in await store.log(conv().key)] == ["turn 1"]
    assert (await store.load(conv().key, ["SM2"])).response is None


async def test_two_first_turns_for_one_key_conflict(store: Store) -> None:
    await store.commit(write(conv(state="a"), idem=("SM1",)))
    with pytest.raises(ConflictError):
        await store.commit(write(conv(state="b"), idem=("SM2",)))
    got = await store.conversation(conv().key)
    assert got is not None and got.state == "a"


async def test_concurrent_commits_at_one_version_exactly_one_wins(store: Store) -> None:
    await store.commit(write(conv()))
    attempts = [write(conv(version=2, state=f"s{i}"), idem=(f"SM{i}",)) for i in range(8)]
    results = await asyncio.gather(*(store.commit(w) for w in attempts), return_exceptions=True)
    wins = [i for i, r in enumerate(results) if r is None]
    assert len(wins) == 1
    assert all(isinstance(r, ConflictError) for i, r in enumerate(results) if i != wins[0])
    got = await store.conversation(conv().key)
    assert got is not None and got.state == f"s{wins[0]}"
    assert len(await store.log(conv().key)) == 2


async def test_duplicate_returns_first_response_and_writes_nothing(store: Store) -> None:
    await store.commit(write(conv(), idem=("SM1",), response="<first/>"))
    again = write(conv(version=2, state="other"), idem=("SM1",), response="<second/>")
    assert await store.commit(again) == "<first/>"
    got = await store.conversation(conv().key)
    assert got is not None and (got.version, got.state) == (1, "menu")
    assert len(await store.log(conv().key)) == 1


async def test_partly_duplicate_keys_record_none_of_the_new_ones(store: Store) -> None:
    await store.commit(write(conv(), idem=("SM1",), response="<first/>"))
    again = write(conv(version=2), idem=("token:abc", "SM1"), response="<second/>")
    assert await store.commit(again) == "<first/>"
    assert (await store.load(conv().key, ["token:abc"])).response is None


async def test_load_answers_a_duplicate_with_the_stored_response(store: Store) -> None:
    await store.commit(write(conv(), idem=("SM1", "token:t1"), response="<first/>"))
    for keys in (["SM1"], ["token:t1"], ["SMother", "token:t1"]):
        loaded = await store.load(conv().key, keys)
        assert (loaded.response, loaded.conversation) == ("<first/>", None)
    fresh = await store.load(conv().key, ["SM2"])
    assert fresh.response is None and fresh.conversation is not None


async def test_idempotency_keys_are_global_not_per_conversation(store: Store) -> None:
    await store.commit(write(conv(), idem=("SM1",), response="<first/>"))
    other = conv(key="sms:+1555:+1777", theirs="+1777")
    assert await store.commit(write(other, idem=("SM1",))) == "<first/>"
    assert await store.conversation(other.key) is None


async def test_a_rolled_back_step_writes_log_and_idempotency_only(store: Store) -> None:
    await store.commit(write(conv(state="menu")))
    failed = write(conv(version=2, state="broken"), idem=("SM9",), save_state=False)
    assert await store.commit(failed) is None
    got = await store.conversation(conv().key)
    assert got is not None and (got.version, got.state) == (1, "menu")
    assert len(await store.log(conv().key)) == 2
    assert (await store.load(conv().key, ["SM9"])).response == "<Response/>"


async def test_log_keeps_order_and_every_field(store: Store) -> None:
    key = conv().key
    first = (
        entry(key, "hi", sid="SM1", channel="sms", media=("https://m/1", "https://m/2"),
              state_before="menu", state_after="question", meta={"NumSegments": "1"}),
        LogEntry(key, Direction.OUT, "message", "What's your question?", T0, channel="sms",
                 state_after="question"),
    )  # fmt: skip
    await store.commit(write(conv(), log=first))
    second = (entry(key, "ünïcode ✓", T0 + timedelta(seconds=1)),)
    await store.commit(write(conv(version=2), log=second))
    await store.commit(write(conv(version=3), log=()))
    log = await store.log(key)
    assert [e.body for e in log] == ["hi", "What's your question?", "ünïcode ✓"]
    assert log[0] == first[0] and log[1] == first[1]
    assert log[2].at == T0 + timedelta(seconds=1) and log[2].sid is None and log[2].media == ()


async def test_logs_are_per_conversation(store: Store) -> None:
    a, b = conv(key="sms:+1:+2"), conv(key="sms:+1:+3")
    await store.commit(write(a, log=(entry(a.key, "to a"),)))
    await store.commit(write(b, log=(entry(b.key, "to b"),)))
    assert [e.body for e in await store.log(a.key)] == ["to a"]
    assert [e.body for e in await store.log(b.key)] == ["to b"]


async def test_a_held_turn_loads_and_commits(store: Store) -> None:
    async with store.hold(conv().key):
        assert (await store.load(conv().key, ["SM1"])).conversation is None
        assert await store.commit(write(conv(), idem=("SM1",))) is None
    assert (await store.load(conv().key, ["SM1"])).response == "<Response/>"


async def test_ping_answers_while_open_and_not_after_close(url: str) -> None:
    s = open_store(url, auto_migrate=True)
    await s.open()
    assert await s.ping() is True
    await s.close()
    await s.close()  # twice is fine
    assert await s.ping() is False


async def test_a_store_that_is_not_open_says_so(url: str) -> None:
    s = open_store(url, auto_migrate=True)
    with pytest.raises(StoreError, match="not open"):
        await s.load("k", ())


def _backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


async def test_schema_behind_is_refused_with_the_command_to_run(url: str) -> None:
    s = open_store(url, auto_migrate=False)
    with pytest.raises(
        SchemaError, match=r"schema version 0 and lacks 0001.*switchboard db upgrade"
    ):
        await s.open()
    migrator = open_store(url, auto_migrate=True)
    await migrator.open()
    await migrator.close()
    await s.open()  # now at the current version
    assert await s.ping()
    await s.close()


async def test_migrations_apply_once_and_record_the_version(url: str) -> None:
    s: Any = open_store(url, auto_migrate=False)
    await s.connect()
    try:
        want = [m.version for m in migrations(_backend(url))]
        assert await s.schema_version() == 0
        assert await s.migrate() == want
        assert await s.migrate() == []
        assert await s.schema_version() == want[-1]
        await s.check_schema()
    finally:
        await s.close()


async def test_schema_ahead_of_the_code_is_refused(store: Any) -> None:
    newer = (await store.schema_version()) + 1
    if _is_sqlite(store):
        await store._run(lambda c: c.execute("INSERT INTO schema_version VALUES (?)", (newer,)))
    else:
        async with store._connection() as conn:
            await conn.execute("INSERT INTO schema_version (version, name) VALUES ($1, 'x')", newer)
    with pytest.raises(SchemaError, match=f"migrations \\[{newer}\\] that this code does not"):
        await store.check_schema()


async def test_a_migration_missing_below_the_highest_counts_as_behind(store: Any) -> None:
    """Numbers are reserved per feature, so 0002 may land after 0003 was applied."""
    if _is_sqlite(store):
        await store._run(lambda c: c.execute("DELETE FROM schema_version WHERE version = 1"))
    else:
        async with store._connection() as conn:
            await conn.execute("DELETE FROM schema_version WHERE version = 1")
    assert await store.schema_version() == max(m.version for m in migrations(_backend_of(store)))
    with pytest.raises(SchemaError, match="lacks 0001 that this code needs"):
        await store.check_schema()


def _backend_of(store: Store) -> str:
    return "sqlite" if _is_sqlite(store) else "postgres"


def _is_sqlite(store: Store) -> bool:
    from storage.sqlite import SQLiteStore

    return isinstance(store, SQLiteStore)


async def test_concurrent_upgrades_apply_each_migration_once(url: str) -> None:
    stores: list[Any] = [open_store(url, auto_migrate=False) for _ in range(4)]
    for s in stores:
        await s.connect()
    try:
        results = await asyncio.gather(*(s.migrate() for s in stores))
        want = [m.version for m in migrations(_backend(url))]
        assert sorted(v for applied in results for v in applied) == want
    finally:
        for s in stores:
            await s.close()


# -- consent ledger and the WhatsApp window ------------------------------------------------

SCOPE, PERSON = "+15550100000", "+15550001111"
WA_KEY = f"whatsapp:{SCOPE}:{PERSON}"


def change(status: str, at: datetime = T0, scope: str = SCOPE, **kw: Any) -> ConsentChange:
    source = ConsentSource(kw.pop("source", ConsentSource.KEYWORD))
    return ConsentChange(PERSON, scope, ConsentStatus(status), source, at, **kw)


async def test_nobody_is_opted_out_until_the_ledger_says_so(store: Store) -> None:
    assert await store.contact(SCOPE, PERSON, None) == Contact(False, None)
    assert await store.contact(SCOPE, PERSON, WA_KEY) == Contact(False, None)
    assert await store.consent_history(PERSON) == []


async def test_the_latest_change_in_a_scope_decides(store: Store) -> None:
    await store.record_consent(change(OPTED_OUT, channel="sms", detail="STOP"))
    assert (await store.contact(SCOPE, PERSON, None)).opted_out is True
    assert (await store.contact("+15550199999", PERSON, None)).opted_out is False
    await store.record_consent(change(OPTED_IN, T0 + timedelta(hours=1), source="operator"))
    assert (await store.contact(SCOPE, PERSON, None)).opted_out is False
    history = await store.consent_history(PERSON)
    assert [(h.status, h.source, h.channel, h.detail) for h in history] == [
        (OPTED_OUT, "keyword", "sms", "STOP"), (OPTED_IN, "operator", "", ""),
    ]  # fmt: skip
    assert history[1].at == T0 + timedelta(hours=1)


async def test_a_turn_commits_consent_and_window_with_it(store: Store) -> None:
    c = conv(key=WA_KEY, channel="whatsapp")
    turn = TurnWrite(c, (), ("SM1",), "<Response/>", T0, consent=(change(OPTED_OUT),),
                     touch_window=True)  # fmt: skip
    assert await store.commit(turn) is None
    assert await store.contact(SCOPE, PERSON, WA_KEY) == Contact(True, T0)
    later = T0 + timedelta(hours=2)
    again = TurnWrite(conv(key=WA_KEY, version=2, channel="whatsapp"), (), ("SM2",), "<R/>", later,
                      touch_window=True)  # fmt: skip
    await store.commit(again)
    assert (await store.contact(SCOPE, PERSON, WA_KEY)).last_inbound == later


async def test_a_refused_turn_writes_no_consent(store: Store) -> None:
    await store.commit(write(conv(key=WA_KEY), idem=("SM1",)))
    stale = TurnWrite(conv(key=WA_KEY, version=5), (), ("SM2",), "<R/>", T0,
                      consent=(change(OPTED_OUT),), touch_window=True)  # fmt: skip
    with pytest.raises(ConflictError):
        await store.commit(stale)
    duplicate = TurnWrite(conv(key=WA_KEY, version=2), (), ("SM1",), "<R/>", T0,
                          consent=(change(OPTED_OUT),), touch_window=True)  # fmt: skip
    assert await store.commit(duplicate) == "<Response/>"
    assert await store.contact(SCOPE, PERSON, WA_KEY) == Contact(False, None)
    assert await store.consent_history(PERSON) == []


async def test_closing_a_window(store: Store) -> None:
    assert await store.close_window(WA_KEY, T0) is False  # never open
    turn = TurnWrite(conv(key=WA_KEY), (), (), "<R/>", T0, touch_window=True)
    await store.commit(turn)
    assert await store.close_window(WA_KEY, T0 - timedelta(minutes=1)) is False  # wrote after
    assert (await store.contact(SCOPE, PERSON, WA_KEY)).last_inbound == T0
    assert await store.close_window(WA_KEY, T0 + timedelta(minutes=1)) is True
    assert (await store.contact(SCOPE, PERSON, WA_KEY)).last_inbound is None
    assert await store.close_window(WA_KEY, T0 + timedelta(minutes=2)) is False  # already shut


# -- history: the caller's earlier conversations, which a new call starts knowing ------------

PERSON = "+15550001111"


async def _history_write(
    store: Store, key: str, at: datetime, theirs: str = PERSON, v: int = 1
) -> None:
    c = conv(key, v, flow="ivr", data={"n": key}, channel=key.partition(":")[0], theirs=theirs)
    assert await store.commit(write(c, at=at)) is None


async def test_history_is_a_callers_latest_conversations_newest_first(store: Store) -> None:
    sms = "sms:+15550100000:+15550001111"
    await _history_write(store, "voice:CA1", T0)
    await _history_write(store, "voice:CA2", T0 + timedelta(minutes=5))
    await _history_write(store, sms, T0 + timedelta(minutes=1))
    await _history_write(store, "voice:CA3", T0 + timedelta(minutes=9), theirs="+15550002222")
    await _history_write(store, "voice:CA1", T0 + timedelta(minutes=7), v=2)  # CA1 again, later
    found = await store.history(PERSON, exclude="voice:CA2")
    assert [c.key for c in found] == ["voice:CA1", sms]
    assert found[0].data == {"n": "voice:CA1"} and found[0].version == 2
    assert [c.key for c in await store.history(PERSON, limit=1)] == ["voice:CA1"]
    assert await store.history("+15559999999") == []
