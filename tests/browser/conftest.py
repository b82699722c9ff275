"""A real server on loopback and Debian's Chromium driven by Playwright.

Without Chromium (or Playwright) these tests skip with the reason, unless
``SWITCHBOARD_REQUIRE_BROWSER=1`` (set by ``.ci/run``), which turns the skip into a failure.
Screenshots go to a scratch folder, or to ``$SWITCHBOARD_SCREENSHOTS`` (``docs/img`` to
retake the ones the operations guide shows).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from quart import Quart

from bot import Router, Settings
from bot.dev.reply import new_sid
from bot.dev.signing import TEST_AUTH_TOKEN, sign
from bot.outbound.config import OutboundSettings
from bot.web import create_app
from flows import build
from storage.base import Store
from storage.sqlite import SQLiteStore

# Where screenshots go: a scratch folder by default, so a test run leaves the checkout clean;
# `SWITCHBOARD_SCREENSHOTS=docs/img pytest tests/browser` retakes the ones the docs show.
SHOTS = Path(
    os.environ.get("SWITCHBOARD_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "switchboard-screenshots"
)
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def _chromium() -> str:
    """Chromium's path; skips (or fails when required) without it or Playwright."""
    path = os.environ.get("SWITCHBOARD_CHROMIUM") or shutil.which("chromium") or ""
    problem = None
    if not path:
        problem = "no chromium on PATH (apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[test]')"
    if problem is None:
        return path
    if os.environ.get("SWITCHBOARD_REQUIRE_BROWSER", "") in {"1", "true", "yes"}:
        pytest.fail(f"SWITCHBOARD_REQUIRE_BROWSER is set but {problem}", pytrace=False)
    pytest.skip(f"browser tests need Chromium and Playwright: {problem}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """The example app served by Hypercorn on loopback."""

    base: str
    settings: Settings

    async def text(self, number: str, body: str, to: str = "+15550100000") -> str:
        """A signed SMS webhook, as Twilio posts it; the TwiML answer."""
        sid = new_sid("SM")
        params = [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", "AC" + "0" * 32),
                  ("From", number), ("To", to), ("Body", body), ("NumMedia", "0")]  # fmt: skip
        url = self.base + "/twilio"
        headers = {"X-Twilio-Signature": sign(url, params, TEST_AUTH_TOKEN),
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=urlencode(params), headers=headers) as response,
        ):
            assert response.status == 200, await response.text()
            return await response.text()


async def admin_post(server: Server, path: str, body: dict[str, Any]) -> Any:
    """An admin API action on ``server`` as the dev operator (dev mode: loopback, no token)."""
    headers = {"Content-Type": "application/json", "X-Switchboard-Console": "1"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.base + "/admin/api" + path, json=body, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


async def _serve(
    settings: Settings, port: int, factory: Callable[..., Quart] = build
) -> AsyncIterator[Server]:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    with tempfile.TemporaryDirectory(prefix="switchboard-browser-") as tmp:
        app = factory(settings, store=SQLiteStore(Path(tmp) / "console.db"))
        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.graceful_timeout = 1
        config.accesslog = None
        stop = asyncio.Event()
        task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                async with aiohttp.ClientSession() as session, session.get(base + "/healthz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        try:
            yield Server(base, settings)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


def _production(port: int) -> Settings:
    return Settings(
        auth_token=TEST_AUTH_TOKEN, public_url=f"http://127.0.0.1:{port}",
        outbound=OutboundSettings(worker=False), console_poll=0.2,
        console_tokens=(("alice", "alice-token-0123456789abcdef"),),
    )  # fmt: skip


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """Production-like: signed webhooks, the console behind named tokens."""
    _chromium()
    port = _free_port()
    async for running in _serve(_production(port), port):
        yield running


@pytest.fixture
async def subflow_server() -> AsyncIterator[Server]:
    """As :func:`server`, serving the nested subflows of tests/test_subflows.py (parent →
    child → grandchild) to every number."""
    from tests.test_subflows import Parent

    def factory(settings: Settings, *, store: Store) -> Quart:
        return create_app([Parent], Router(default="parent"), settings, store=store)

    _chromium()
    port = _free_port()
    async for running in _serve(_production(port), port, factory):
        yield running


@pytest.fixture
async def dev_server() -> AsyncIterator[Server]:
    """``serve --dev``: no token anywhere, the simulated phone on."""
    _chromium()
    port = _free_port()
    settings = replace(Settings(dev=True), outbound=OutboundSettings(worker=False),
                       console_poll=0.2)  # fmt: skip
    async for running in _serve(settings, port):
        yield running


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    """A Chromium page (1280×860) that fails the test on any console error (CSP included)."""
    from playwright.async_api import async_playwright

    path = _chromium()
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 860})
        tab = await context.new_page()
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        yield tab
        await context.close()
        await browser.close()
    assert [e for e in errors if "401" not in e] == []


async def shot(page: Any, name: str) -> None:
    """Save a screenshot of ``page`` as console-<name>.png in :data:`SHOTS`."""
    os.makedirs(SHOTS, exist_ok=True)
    await page.evaluate("document.getElementById('toast').hidden = true")
    await page.screenshot(path=str(SHOTS / f"console-{name}.png"), full_page=True)
