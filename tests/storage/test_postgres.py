"""PostgreSQL specifics: conversations held across processes, connection errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.errors import StoreError
from bot.testing.databases import with_options
from storage import open_store
from storage.postgres import PostgresStore


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
