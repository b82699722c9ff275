"""The hand-off webhook, on both backends: signed, sent once per event, retried on failure."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.outbound.notices import SIGNATURE_HEADER, NoticeSettings, Notifier, verify
from bot.testing import Harness
from flows.helpdesk import HELPDESK_NUMBER
from tests.admin.conftest import console_app

SECRET = "shared-secret-0123456789"
PERSON = "+15550005555"


@dataclass
class Receiver:
    """A webhook receiver on loopback that fails the first ``failures`` requests."""

    failures: int = 1
    got: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        at = int(request.headers[SIGNATURE_HEADER].split(",")[0][2:])
        self.got.append((json.loads(body), verify(SECRET, request.headers[SIGNATURE_HEADER],
                                                  body, at)))  # fmt: skip
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=500)
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    found.url = f"http://127.0.0.1:{port}/hook"
    yield found
    await runner.cleanup()


async def test_handed_off_and_waiting_notices(database: str, receiver: Receiver) -> None:
    notices = NoticeSettings(receiver.url, SECRET, wait_seconds=600)
    async with Harness(console_app, database_url=database,
                       settings={"handoff_notices": notices}) as harness:  # fmt: skip
        notifier = harness.runtime.notifier
        assert isinstance(notifier, Notifier)
        phone = harness.phone(PERSON, to=HELPDESK_NUMBER)
        await phone.send("hi")
        await phone.send("agent")
        assert await notifier.run_once() == 0  # the receiver fails the first one
        assert await notifier.run_once() == 0  # not due again yet (backoff)
        harness.clock.advance(6)
        assert await notifier.run_once() == 1  # retried
        assert await notifier.run_once() == 0  # sent once
        harness.clock.advance(600)
        assert await notifier.run_once() == 1  # waited too long, still unclaimed
        events = [(body["event"], body["handoff"]["reason"], ok) for body, ok in receiver.got]
        assert events == [("handed_off", "asked for a person", True)] * 2 + [
            ("waiting", "asked for a person", True)
        ]


def test_a_wrong_secret_or_an_old_signature_fails() -> None:
    from bot.outbound.notices import sign

    header = sign(SECRET, b"{}", 1000)
    assert verify(SECRET, header, b"{}", 1100)
    assert not verify("another-secret-000000", header, b"{}", 1100)
    assert not verify(SECRET, header, b"{ }", 1100)
    assert not verify(SECRET, header, b"{}", 2000)
