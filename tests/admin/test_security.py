"""The console's security rules: off unless configured (404), 401 without a good token and
nothing leaked, tokens never logged, CSRF-safe state changes, a strict CSP, dev on loopback."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import Settings
from bot.admin import parse_tokens
from bot.errors import ConfigError
from bot.testing import Harness
from flows import build
from storage.sqlite import SQLiteStore
from tests.admin.conftest import ALICE, BOB, JSON, Api, console_app

KEY_PATH = "/admin/api/conversations/sms%3A%2B15550100000%3A%2B15550001111"


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with Harness(console_app) as started:
        yield started


async def test_without_a_token_configured_nothing_is_there() -> None:
    async with Harness(build) as plain:
        assert plain.app is not None
        client = plain.app.test_client()
        for url in ("/admin/api/whoami", "/admin/api/conversations", "/console/",
                    "/console/static/console.js"):  # fmt: skip
            response = await client.get(url, headers={"Authorization": f"Bearer {ALICE}"})
            assert response.status_code == 404, url


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token-0123456789", f"Basic {ALICE}", f"Bearer {ALICE}x", "Bearer "],
)
async def test_a_bad_or_missing_token_is_401_and_says_nothing(
    harness: Harness, header: str | None
) -> None:
    assert harness.app is not None
    client = harness.app.test_client()
    headers = {"Authorization": header} if header else {}
    for url in ("/admin/api/whoami", KEY_PATH, "/admin/api/stream"):
        response = await client.get(url, headers=headers)
        assert response.status_code == 401
        assert await response.get_json() == {"error": "unauthorized"}
    response = await client.post(KEY_PATH + "/end", json={}, headers={**headers, **JSON})
    assert response.status_code == 401


async def test_each_token_names_its_operator(harness: Harness) -> None:
    assert (await Api(harness, ALICE).get("/admin/api/whoami"))[1]["operator"] == "alice"
    assert (await Api(harness, BOB).get("/admin/api/whoami"))[1]["operator"] == "bob"


async def test_tokens_never_reach_the_logs(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await harness.phone("+15550001111").send("hi")
    api = Api(harness)
    await api.get("/admin/api/conversations")
    await api.post(KEY_PATH + "/move", {"state": "question"})
    await Api(harness, "Bearer-guess-0123456789abcdef").get("/admin/api/whoami")
    assert ALICE not in caplog.text and "guess-0123" not in caplog.text
    assert "alice" in caplog.text  # the operator is named, the token is not
    assert ALICE not in repr(harness.runtime.settings)


async def test_state_changes_need_the_console_header_and_json(harness: Harness) -> None:
    await harness.phone("+15550001111").send("hi")
    assert harness.app is not None
    client = harness.app.test_client()
    auth = {"Authorization": f"Bearer {ALICE}"}
    response = await client.post(KEY_PATH + "/end", json={}, headers=auth)
    assert response.status_code == 403  # what a cross-site form could send
    response = await client.post(
        KEY_PATH + "/end", data="{}",
        headers={**auth, "X-Switchboard-Console": "1", "Content-Type": "text/plain"},
    )  # fmt: skip
    assert response.status_code == 415
    stored = await harness.store.conversation("sms:+15550100000:+15550001111")
    assert stored is not None and not stored.closed


async def test_pages_send_a_strict_content_security_policy(harness: Harness) -> None:
    assert harness.app is not None
    client = harness.app.test_client()
    assets = ("console.js", "list.js", "handoff.js", "phone.js", "console.css")
    for url in ("/console/", *(f"/console/static/{name}" for name in assets)):
        response = await client.get(url)
        assert response.status_code == 200, url
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = await (await client.get("/console/")).get_data(as_text=True)
    assert "<script>" not in html and not re.search(r"\son[a-z]+=", html)  # no inline JS
    assert 'src="static/console.js"' in html and "http" not in html  # nothing from a CDN
    assert (await client.get("/console/static/..%2Fconsole.py")).status_code == 404


async def test_bad_input_is_a_clear_4xx(harness: Harness) -> None:
    await harness.phone("+15550001111").send("hi")
    api = Api(harness)
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("/move", {"state": "nowhere"}, 422, "has no state 'nowhere'"),
        ("/move", {}, 400, "which state"),
        ("/move", {"state": "menu", "version": "x"}, 400, "version"),
        ("/data", {"data": [1]}, 422, "JSON object"),
        ("/data", {"data": {"x": float("nan")}}, 422, "cannot be stored"),
        ("/fly", {}, 404, "no action"),
    ]
    for suffix, body, status, words in cases:
        got, answer = await api.post(KEY_PATH + suffix, body)
        assert got == status, (suffix, body, answer)
        assert words in answer["error"]
    assert (await api.post("/admin/api/conversations/sms%3Anobody/end"))[0] == 404
    for query in ("status=maybe", "limit=0", "limit=x", "cursor=%%%", "channel=fax"):
        got, answer = await api.get(f"/admin/api/conversations?{query}")
        assert got == 422 and answer["error"], query


async def test_dev_mode_opens_it_on_loopback_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app = build(Settings(dev=True), store=SQLiteStore(Path(tmp) / "dev.db"))
        async with app.test_app() as test_app:
            client = test_app.test_client()
            response = await client.get(
                "/admin/api/whoami", scope_base={"client": ("127.0.0.1", 5000)}
            )
            assert (await response.get_json())["operator"] == "dev"
            response = await client.get(
                "/admin/api/whoami", scope_base={"client": ("203.0.113.9", 5000)}
            )
            assert response.status_code == 404
    assert "open without a token" in caplog.text


def test_token_configuration_is_checked_without_echoing_tokens() -> None:
    assert parse_tokens("alice=abcdefghijklmnop, bob=qrstuvwxyz012345") == (
        ("alice", "abcdefghijklmnop"), ("bob", "qrstuvwxyz012345"),
    )  # fmt: skip
    assert parse_tokens("abcdefghijklmnop") == (("operator", "abcdefghijklmnop"),)
    for raw, words in [("alice=short", "at least 16"), ("a b=abcdefghijklmnop", "a word"),
                       ("x=abcdefghijklmnop,x=qrstuvwxyz012345", "twice")]:  # fmt: skip
        with pytest.raises(ConfigError, match=words) as caught:
            parse_tokens(raw)
        assert "abcdefghijklmnop" not in str(caught.value) and "short" not in str(caught.value)
    env = {"TWILIO_AUTH_TOKEN": "t", "SWITCHBOARD_CONSOLE_TOKEN": "alice=abcdefghijklmnop"}
    assert Settings.from_env(env).console.operator("abcdefghijklmnop") == "alice"
