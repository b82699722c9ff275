"""Issue 15: the tools understand subflows — diagrams show the call, ``flows check`` places a
conversation inside a subflow, an export shows the call and the return, and the console's
conversation view carries the call stack."""

from __future__ import annotations

import asyncio

import pytest

from bot.cli import main
from bot.export.transcript import to_transcript
from bot.flow.diagram import dot, mermaid
from bot.testing import Harness
from flows import SIGNUP_NUMBER, SignupFlow, build

ME = "+15550001111"
KEY = f"sms:{SIGNUP_NUMBER}:{ME}"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret-token")
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


def test_the_diagram_shows_the_call() -> None:
    assert "verifying: verifying ⇒ calls verify_phone" in mermaid(SignupFlow)
    assert 'xlabel="⇒ verify_phone"' in dot(SignupFlow)


async def test_flows_check_places_a_conversation_inside_a_subflow(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Harness(build, database_url=url) as h:
        phone = h.phone(ME, SIGNUP_NUMBER)
        await phone.send("hi")
        await phone.send("Ada")
        stored = await h.store.conversation(KEY)
        assert stored is not None and stored.flow == "verify_phone"
    argv = ["flows", "check", "--app", "app:app", "--database", url]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert "ok: every live conversation is placed" in out and "verify_phone" in out


async def test_an_export_shows_the_call_and_the_return() -> None:
    async with Harness(build) as h:
        phone = h.phone(ME, SIGNUP_NUMBER)
        await phone.send("hi")
        await phone.send("Ada")
        await phone.send("skip")
        stored = await h.store.conversation(KEY)
        assert stored is not None
        text = to_transcript(stored, await h.store.log(KEY))
    assert "# called: verified_signup → verify_phone" in text
    assert "# returned: verify_phone → verified_signup: failed" in text


async def test_the_admin_api_shows_the_callers_of_a_running_subflow() -> None:
    from bot.admin.views import conversation_json

    async with Harness(build) as h:
        phone = h.phone(ME, SIGNUP_NUMBER)
        await phone.send("hi")
        await phone.send("Ada")
        stored = await h.store.conversation(KEY)
        assert stored is not None
    shown = conversation_json(stored)
    assert (shown["flow"], shown["state"]) == ("verify_phone", "waiting")
    assert shown["calls"] == [{"flow": "verified_signup", "state": "verifying"}]
