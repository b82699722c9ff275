"""Issue 17: a webhook turn answers within its deadline when the store stalls.

A stalled SQLite file (another connection holding the write lock) and a black-holed
PostgreSQL (a loopback proxy that stops forwarding, TCP still open) each make a turn answer
503 within the deadline, never 200 after Twilio gave up; the abandoned turn is written whole
or not at all; once the store answers again the same delivery is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from bot.errors import StoreError
from bot.testing import Harness
from flows import build
from storage.url import open_store
from tests.loopback import through

KEY = "sms:+15550100000:+15550001111"
DEADLINE = 0.5


async def _inbound_sids(h: Harness, sid: str) -> tuple[int, int]:
    log = await h.store.log(KEY)
    ins = sum(1 for e in log if e.direction == "in" and e.sid == sid)
    return ins, len(log)


async def test_a_stalled_sqlite_file_answers_503_within_the_deadline() -> None:
    async with Harness(build, settings={"turn_deadline": DEADLINE}) as h:
        phone = h.phone("+15550001111")
        assert (await phone.send("hi")).status == 200
        assert h.db_path is not None
        blocker = sqlite3.connect(str(h.db_path), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, held as a frozen disk would
        try:
            started = time.monotonic()
            sid = "SM" + "5" * 32
            reply = await phone.send("1", sid=sid)
            took = time.monotonic() - started
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert reply.status == 503 and took < DEADLINE + 1.0, (reply, took)
        again = await phone.send("1", sid=sid)  # Twilio's retry, once the store answers
        assert again.status == 200
        ins, _ = await _inbound_sids(h, sid)
        assert ins == 1  # written once: by the abandoned turn or by the retry, never both


class BlackHole:
    """A loopback TCP proxy to PostgreSQL that can stop forwarding while keeping connections
    open (and accepting new ones that never get an answer)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.open = asyncio.Event()
        self.open.set()
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.open.wait()
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        for a, b in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pump(a, b))
            self.tasks.add(task)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await src.read(65536):
                await self.open.wait()  # black-holed: hold the bytes, answer nothing
                dst.write(data)
                await dst.drain()
        dst.close()

    async def close(self) -> None:
        self.open.set()
        if self.server is not None:
            self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture
async def hole(postgres_url: str) -> AsyncIterator[BlackHole]:
    parts = urlsplit(postgres_url)
    proxy = BlackHole((parts.hostname or "127.0.0.1", parts.port or 5432))
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.mark.postgres
async def test_a_black_holed_postgres_answers_503_within_the_deadline(
    hole: BlackHole, postgres_schema_url: str
) -> None:
    assert hole.server is not None
    url = through(postgres_schema_url, hole.server.sockets[0].getsockname()[1])
    async with Harness(build, database_url=url, settings={"turn_deadline": DEADLINE}) as h:
        phone = h.phone("+15550001111")
        assert (await phone.send("hi")).status == 200
        hole.open.clear()
        sid = "SM" + "6" * 32
        try:
            started = time.monotonic()
            replies = await asyncio.gather(
                phone.send("1", sid=sid), h.phone("+15550002222").send("hi")
            )
            took = time.monotonic() - started
        finally:
            hole.open.set()
        assert [r.status for r in replies] == [503, 503] and took < DEADLINE + 1.0, took
        # Twilio retries; once the abandoned turns have ended (a moment, longer on a loaded
        # machine, where a retry may meet the deadline again) the retry is answered
        for _ in range(20):
            await asyncio.sleep(0.2)
            again = await phone.send("1", sid=sid)
            if again.status != 503:
                break
        assert again.status == 200, again
        ins, _ = await _inbound_sids(h, sid)
        assert ins == 1


@pytest.mark.postgres
async def test_connecting_to_a_black_holed_postgres_gives_up_at_connect_timeout(
    hole: BlackHole, postgres_schema_url: str
) -> None:
    assert hole.server is not None
    hole.open.clear()
    url = through(postgres_schema_url, hole.server.sockets[0].getsockname()[1])
    store = open_store(url + "&connect_timeout=0.5", auto_migrate=True)
    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot connect"):
        await store.open()
    assert time.monotonic() - started < 2.0


async def test_a_call_on_a_stalled_store_holds_within_the_deadline() -> None:
    async with Harness(build, settings={"turn_deadline": DEADLINE}) as h:
        assert h.db_path is not None
        blocker = sqlite3.connect(str(h.db_path), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            reply = await h.post("/twilio", h.call("+15550001111").params())
            took = time.monotonic() - started
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert reply.status == 200 and "Please hold on a moment." in reply.body
        assert "<Redirect" in reply.body and took < DEADLINE + 1.0


@pytest.mark.parametrize("raw", ["20", "0", "soon"])
def test_the_deadline_stays_inside_twilios_15_seconds(raw: str) -> None:
    from bot import ConfigError, Settings

    with pytest.raises(ConfigError, match="SWITCHBOARD_TURN_DEADLINE"):
        Settings.from_env({"SWITCHBOARD_DEV": "1", "SWITCHBOARD_TURN_DEADLINE": raw})
    assert Settings.from_env({"SWITCHBOARD_DEV": "1"}).turn_deadline == 10.0


@pytest.mark.postgres
async def test_a_statement_past_statement_timeout_is_a_store_error(
    hole: BlackHole, postgres_schema_url: str
) -> None:
    """A guard (it passed before issue 17 too): the client's statement timeout on a silent
    server is a StoreError (503) within the timeout, never a bare TimeoutError (500)."""
    assert hole.server is not None
    url = through(postgres_schema_url, hole.server.sockets[0].getsockname()[1])
    store = open_store(url + "&statement_timeout=0.3", auto_migrate=True)
    await store.open()
    try:
        async with store.hold("k"):
            hole.open.clear()
            started = time.monotonic()
            with pytest.raises(StoreError, match="timeout"):
                await store.load("k", [])
            assert time.monotonic() - started < 2.0
    finally:
        hole.open.set()
        await store.close()
