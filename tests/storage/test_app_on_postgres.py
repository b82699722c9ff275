"""The real app in process on each backend: turns, retries, and input PostgreSQL cannot store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import Flow, Router, T, Turn
from bot.engine.engine import DEFAULT_APOLOGY
from bot.testing import Harness
from flows import build
from flows.support import MENU


@pytest.fixture(params=["sqlite", "postgres"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    async with Harness(build, database_url=str(request.getfixturevalue(name))) as started:
        yield started


async def test_a_conversation_and_a_retry(harness: Harness) -> None:
    phone = harness.phone("+15550001111")
    assert (await phone.send("hi")).messages == [MENU]
    asked = await phone.send("1", sid="SM" + "1" * 32)
    assert asked.messages == ["What's your question? Write it in one message."]
    filed = await phone.send("Where is my parcel? ✓")
    assert filed.messages[0].startswith("Thanks! Your question is ticket #1")
    retry = await phone.send("1", sid="SM" + "1" * 32)
    assert retry.body == asked.body
    stored = await harness.store.conversation("sms:+15550100000:+15550001111")
    assert stored is not None
    assert (stored.state, stored.version, stored.data) == (
        "menu", 3, {"tickets": ["Where is my parcel? ✓"]},
    )  # fmt: skip


@pytest.mark.parametrize(("body", "extra"), [("a\x00b", []), ("hi", [("ProfileName", "Zo\x00e")])])
async def test_a_nul_character_is_a_400_not_a_503(
    harness: Harness, body: str, extra: list[tuple[str, str]]
) -> None:
    reply = await harness.phone("+15550001111").send(body, extra=extra)
    assert (reply.status, reply.body) == (400, "request body contains a NUL character\n")
    assert await harness.store.log("sms:+15550100000:+15550001111") == []


class Hoarder(Flow):
    """Stores whatever a message asks for, including what no backend should store."""

    name = "hoarder"
    initial = "idle"
    states = ["idle", "stored"]
    transitions = [T("message", "idle", "stored", before="keep"), T("invalid", "*", None)]

    def on_enter_idle(self, turn: Turn) -> None:
        turn.say("ready")

    def keep(self, turn: Turn) -> None:
        turn.data["kept"] = {"nan": float("nan"), "nul": "a\x00b", "ok": turn.text}[turn.text]
        turn.say("kept")


@pytest.mark.parametrize("what", ["nan", "nul"])
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_data_no_backend_can_store_fails_the_step_alike(
    request: pytest.FixtureRequest, backend: str, what: str
) -> None:
    url = str(
        request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_schema_url")
    )
    async with Harness.of([Hoarder], Router(default="hoarder"), database_url=url) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        reply = await phone.send(what)
        assert reply.status == 200 and reply.messages == [DEFAULT_APOLOGY]
        stored = await h.store.conversation("sms:+15550100000:+15550001111")
        assert stored is not None and (stored.state, stored.data) == ("idle", {})
        assert (await phone.send("ok")).messages == ["kept"]
