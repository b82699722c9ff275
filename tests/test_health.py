"""Issue 17: ``/healthz`` tells whether this instance can take a turn now; ``/livez`` that it
is alive. A deleted, replaced, read-only or stalled SQLite file, a schema that is not this
code's and a dead worker each make it 503, and a turn into a deleted file is 503, not 200."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from dataclasses import replace
from typing import Any

from quart import Quart

from bot.testing import Harness
from flows import build

KEY = "sms:+15550100000:+15550001111"


async def _get(h: Harness, path: str) -> tuple[int, Any]:
    app: Quart = h.app  # type: ignore[assignment]
    response = await app.test_client().get(path)
    return response.status_code, await response.get_json()


async def test_a_deleted_sqlite_file_is_not_ready_and_turns_are_503(harness: Harness) -> None:
    phone = harness.phone("+15550001111")
    assert (await phone.send("hi")).status == 200
    assert (await _get(harness, "/healthz"))[0] == 200
    assert harness.db_path is not None
    os.remove(harness.db_path)
    status, body = await _get(harness, "/healthz")
    assert status == 503 and "deleted" in " ".join(body["problems"])
    assert len([p for p in body["problems"] if "deleted" in p]) == 1  # named once, not twice
    reply = await phone.send("1")
    assert reply.status == 503  # never 200 into an orphaned file
    assert (await _get(harness, "/livez"))[0] == 200


async def test_a_replaced_sqlite_file_is_detected_by_inode(harness: Harness) -> None:
    assert (await harness.phone("+15550001111").send("hi")).status == 200
    path = harness.db_path
    assert path is not None
    shutil.copy(path, str(path) + ".copy")
    os.replace(str(path) + ".copy", path)
    status, body = await _get(harness, "/healthz")
    assert status == 503 and "replaced" in " ".join(body["problems"])
    assert (await harness.phone("+15550001111").send("1")).status == 503


async def test_a_read_only_database_is_not_ready(harness: Harness) -> None:
    store: Any = harness.store
    await store._run(lambda conn: conn.execute("PRAGMA query_only = ON"))
    if store._here is not None:  # turns commit on the loop's own connection (issue 18)
        store._here.conn.execute("PRAGMA query_only = ON")
    status, body = await _get(harness, "/healthz")
    assert status == 503 and "readonly" in " ".join(body["problems"])
    assert (await harness.phone("+15550001111").send("hi")).status == 503


async def test_a_schema_that_is_not_this_codes_is_not_ready(harness: Harness) -> None:
    assert harness.db_path is not None
    other = sqlite3.connect(str(harness.db_path), isolation_level=None)
    other.execute("DELETE FROM schema_version WHERE version = (SELECT max(version) FROM "
                  "schema_version)")  # fmt: skip
    other.close()
    status, body = await _get(harness, "/healthz")
    assert status == 503 and "schema" in " ".join(body["problems"])


async def test_a_stalled_store_is_not_ready_within_seconds(harness: Harness) -> None:
    assert harness.db_path is not None
    blocker = sqlite3.connect(str(harness.db_path), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        status, body = await _get(harness, "/healthz")
        took = time.monotonic() - started
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert status == 503 and took < 3.5 and "within" in " ".join(body["problems"])


async def test_a_dead_outbox_worker_is_not_ready() -> None:
    h = Harness(build)
    h.outbound_settings = replace(h.outbound_settings, worker=True)
    async with h:
        assert (await _get(h, "/healthz"))[0] == 200
        task: Any = h.runtime.outbox.loop.task
        task.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        status, body = await _get(h, "/healthz")
        assert status == 503 and "outbox worker" in " ".join(body["problems"])


async def test_livez_answers_while_the_store_is_closed(harness: Harness) -> None:
    await harness.store.close()
    assert (await _get(harness, "/livez")) == (200, {"status": "alive"})
    assert (await _get(harness, "/healthz"))[0] == 503


async def test_postgres_readiness_takes_a_write_and_checks_the_schema(
    postgres_schema_url: str,
) -> None:
    from storage.url import open_store

    store = open_store(postgres_schema_url, auto_migrate=True)
    await store.open()
    try:
        assert await store.readiness() == []
    finally:
        await store.close()
    behind = open_store(postgres_schema_url, auto_migrate=False)
    await behind.connect()
    try:
        import asyncpg

        schema = postgres_schema_url.rpartition("schema=")[2].partition("&")[0]
        conn = await asyncpg.connect(postgres_schema_url.partition("?")[0])
        await conn.execute(f'DELETE FROM "{schema}".schema_version WHERE version = 9')
        await conn.close()
        problems = await behind.readiness()
        assert problems and "schema" in problems[0]
    finally:
        await behind.close()


async def test_a_disk_nearly_full_is_not_ready(harness: Harness) -> None:
    """A full disk may still take the one-page health write (SQLite reuses its WAL) while
    turns, which add pages, fail: free space below ``min_free_bytes`` is not ready."""
    store: Any = harness.store
    assert (await _get(harness, "/healthz"))[0] == 200
    store.min_free_bytes = 2**62  # more than any disk has free
    status, body = await _get(harness, "/healthz")
    assert status == 503 and "KiB free" in " ".join(body["problems"])
