"""PostgreSQL going away and coming back under a running app (the fault run of 2026-11-24).

A loopback proxy in front of the test server plays the outage: it drops every connection and
refuses new ones (PostgreSQL stopped: ``pg_ctl stop``), then listens again on the same port
(started again). Turns during the outage answer 503, the app recovers without a restart, a
retried delivery is written once, and the outage is a few log lines: no traceback from the
background loops (every poll) nor from asyncpg's pool (every refill attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from bot.outbound.background import Background
from bot.testing import Harness
from flows import build
from tests.loopback import through

pytestmark = pytest.mark.postgres
KEY = "sms:+15550100000:+15550001111"


class Outage:
    """A loopback TCP proxy to PostgreSQL that can go away (connections dropped, new ones
    refused) and come back on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in self.writers:
            writer.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.writers.clear()
        self.tasks.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        for a, b in ((reader, up_writer), (up_reader, writer)):
            self.tasks.add(asyncio.get_running_loop().create_task(self._pump(a, b)))

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        dst.close()


@pytest.fixture
async def outage(postgres_url: str) -> AsyncIterator[Outage]:
    parts = urlsplit(postgres_url)
    proxy = Outage((parts.hostname or "127.0.0.1", parts.port or 5432))
    await proxy.up()
    yield proxy
    await proxy.down()


async def test_postgres_going_away_and_coming_back(
    outage: Outage, postgres_schema_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = through(postgres_schema_url, outage.port)
    async with Harness(build, database_url=url, settings={"turn_deadline": 2.0}) as h:
        phone = h.phone("+15550001111")
        assert (await phone.send("hi")).status == 200
        log = logging.getLogger("test.outage")

        async def round() -> bool:  # the outbox worker's and the timer runner's rounds
            return bool(await h.runtime.drain())

        loop = Background("outage-loop", round, 0.02, log=log, failed="a round failed")
        caplog.set_level(logging.INFO)
        await outage.down()
        loop.start()
        try:
            sid = "SM" + "7" * 32
            assert (await phone.send("1", sid=sid)).status == 503
            await asyncio.sleep(1.5)  # ~50 failed rounds; asyncpg retries its floor after 1 s
            await outage.up()
            for _ in range(50):  # Twilio's retry, until the pool has reconnected
                again = await phone.send("1", sid=sid)
                if again.status != 503:
                    break
                await asyncio.sleep(0.1)
            assert again.status == 200, again
            await asyncio.sleep(0.1)  # a round after the store came back
        finally:
            await loop.stop()
        ins = [e for e in await h.store.log(KEY) if e.direction == "in" and e.sid == sid]
        assert len(ins) == 1
    tracebacks = [r for r in caplog.records if r.exc_info or r.exc_text]
    assert not tracebacks, [(r.name, r.getMessage()) for r in tracebacks]
    failed = [r for r in caplog.records if r.name == "test.outage" and r.levelno >= logging.ERROR]
    assert len(failed) == 1 and "a round failed: " in failed[0].getMessage(), failed
    back = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
    assert len(back) == 1, back
    pool = [r.getMessage() for r in caplog.records if r.name == "asyncpg.pool"]
    assert all("\n" not in m for m in pool), pool
