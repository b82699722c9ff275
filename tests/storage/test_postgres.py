"""PostgreSQL specifics: conversations held across processes, connection errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from bot.errors import ConflictError, StoreError
from bot.testing.databases import with_options
from storage import open_store
from storage.postgres import PostgresStore
from storage.programs import Program
from storage.records import TurnWrite
from tests.storage.test_contract import conv, write


@pytest.fixture
async def two(postgres_schema_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one database: two processes, as far as PostgreSQL can tell."""
    url = with_options(postgres_schema_url, lock_timeout="0.5")
    a, b = open_store(url, auto_migrate=True), open_store(url, auto_migrate=True)
    assert isinstance(a, PostgresStore) and isinstance(b, PostgresStore)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def test_a_held_conversation_waits_for_the_other_process(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    order: list[str] = []
    held = asyncio.Event()

    async def first() -> None:
        async with a.hold("sms:+1:+2"):
            order.append("a in")
            held.set()
            await asyncio.sleep(0.2)  # b is waiting meanwhile (its lock_timeout is 0.5 s)
            order.append("a out")

    async def second() -> None:
        await held.wait()
        async with b.hold("sms:+1:+2"):
            order.append("b in")

    await asyncio.gather(first(), second())
    assert order == ["a in", "a out", "b in"]


async def test_other_conversations_are_not_held_up(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    async with a.hold("sms:+1:+2"), b.hold("sms:+1:+3"):
        # b got its lock while a holds another key: had they shared a lock, b would have
        # failed after its 0.5 s lock_timeout instead
        assert (await b.load("sms:+1:+3", ())).conversation is None


async def test_a_lock_wait_is_bounded_and_says_why(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    async with a.hold("sms:+1:+2"):
        with pytest.raises(StoreError, match="lock another process holds"):
            async with b.hold("sms:+1:+2"):
                pass  # pragma: no cover
    async with b.hold("sms:+1:+2"):  # and b's connection is usable afterwards
        assert await b.load("sms:+1:+2", ()) is not None


async def test_a_cancelled_turn_releases_its_lock(two: tuple[PostgresStore, PostgresStore]) -> None:
    a, b = two
    holder = asyncio.Event()

    async def hold_forever() -> None:
        async with a.hold("sms:+1:+2"):
            holder.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(hold_forever())
    await holder.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with b.hold("sms:+1:+2"):
        pass


async def test_a_task_holds_one_conversation_at_a_time(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, _ = two
    async with a.hold("sms:+1:+2"):
        with pytest.raises(StoreError, match="one conversation at a time"):
            async with a.hold("sms:+1:+3"):
                pass  # pragma: no cover


async def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    store = open_store("postgresql://sb:s3cret-pw@127.0.0.1:1/db?migrate=check")
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL 127\.0\.0\.1:1/db") as info:
        await store.open()
    assert "s3cret-pw" not in str(info.value)
    assert await store.ping() is False


async def test_tables_missing_is_a_schema_error(postgres_schema_url: str) -> None:
    store = open_store(postgres_schema_url)  # PostgreSQL checks by default
    with pytest.raises(StoreError, match="switchboard db upgrade"):
        await store.open()


KEY = "sms:+1555:+1666"


def _turn(version: int, sid: str) -> TurnWrite:
    return write(conv(key=KEY, version=version), (sid,))


@contextlib.contextmanager
def round_trips() -> Iterator[list[str]]:
    """Every statement sent on any asyncpg connection (simple queries and queries with
    arguments alike): one round trip each once prepared."""
    sent: list[str] = []
    execute, _execute = asyncpg.Connection.execute, asyncpg.Connection._execute

    async def simple(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
        if not args:
            sent.append(query)
        return await execute(self, query, *args, **kw)

    async def extended(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
        sent.append(query)
        return await _execute(self, query, *args, **kw)

    asyncpg.Connection.execute, asyncpg.Connection._execute = simple, extended
    try:
        yield sent
    finally:
        asyncpg.Connection.execute, asyncpg.Connection._execute = execute, _execute


async def test_a_turn_is_five_round_trips(two: tuple[PostgresStore, PostgresStore]) -> None:
    a, _ = two
    async with a.hold(KEY):  # the first turn prepares its statements
        await a.load(KEY, ["SM0"])
        await a.contact("sms", "+1666", None)
        assert await a.commit(_turn(1, "SM0")) is None
    with round_trips() as sent:
        async with a.hold(KEY):
            await a.load(KEY, ["SM1"])
            await a.contact("sms", "+1666", None)
            assert await a.commit(_turn(2, "SM1")) is None
    assert len(sent) == 5, sent  # BEGIN + lock, load, contact, the turn's statement, COMMIT
    assert sent[0].startswith("BEGIN; SELECT pg_advisory_xact_lock(") and sent[-1] == "COMMIT"


async def test_the_lock_is_let_go_by_the_commit_and_the_next_holder_sees_it(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    committed = asyncio.Event()

    async def first() -> None:
        async with a.hold(KEY):
            assert await a.commit(_turn(1, "SM1")) is None
            committed.set()
            await asyncio.sleep(0.1)  # still inside the hold, but the turn is done

    async def second() -> None:
        await committed.wait()
        async with b.hold(KEY):
            loaded = await b.load(KEY, [])
            assert loaded.conversation is not None and loaded.conversation.version == 1

    await asyncio.gather(first(), second())


async def test_a_conversation_stays_held_after_a_refused_commit(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    await a.commit(_turn(1, "SM1"))
    async with a.hold(KEY):
        with pytest.raises(ConflictError):
            await a.commit(_turn(5, "SM2"))  # stale: rolled back, the lock taken again
        assert await a.commit(_turn(1, "SM1")) == "<Response/>"  # a duplicate: the same
        with pytest.raises(StoreError, match="lock another process holds"):
            async with b.hold(KEY):
                pass  # pragma: no cover
        assert await a.commit(_turn(2, "SM3")) is None  # and the hold goes on working
    loaded = await b.load(KEY, ["SM2"])
    assert loaded.response is None and loaded.conversation is not None
    assert loaded.conversation.version == 2  # the refused write left nothing behind


async def test_a_load_after_the_commit_takes_the_lock_again(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    async with a.hold(KEY):
        assert await a.commit(_turn(1, "SM1")) is None
        await a.load(KEY, [])  # still held: the lock is taken again for this
        with pytest.raises(StoreError, match="lock another process holds"):
            async with b.hold(KEY):
                pass  # pragma: no cover


def _mark(key: str) -> Program[None]:
    """A write run as a program (as an operator action's audit entry is)."""
    yield "UPDATE conversations SET state = ? WHERE key = ?", ("audited", key)


async def test_a_statement_after_the_commit_in_the_hold_is_kept(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    async with a.hold(KEY):
        assert await a.commit(_turn(1, "SM1")) is None
        await a.run(_mark(KEY), atomic=False)  # the lock is taken again for it
    stored = await b.conversation(KEY)
    assert stored is not None and stored.state == "audited"
