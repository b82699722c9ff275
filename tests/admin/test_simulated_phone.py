"""The simulated phone's calls (dev mode): the incoming-call webhook, each answer at the
action URL the TwiML gave, and the hang-up's status callback, through the real engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from quart import Quart

from bot import Clock, Settings
from bot.testing import Harness
from flows import SPEECH_MENU_NUMBER, build
from flows.ivr import MENU
from storage.base import Store
from tests.admin.conftest import JSON

LOOPBACK = {"client": ("127.0.0.1", 5000)}
CALLER, IVR = "+15550001111", "+15550100000"


def dev_app(settings: Settings, *, store: Store, clock: Clock) -> Quart:
    return build(replace(settings, dev=True), store=store, clock=clock)


@pytest.fixture
async def dev(database: str) -> AsyncIterator[Harness]:
    async with Harness(dev_app, database_url=database) as started:
        yield started


async def _call(harness: Harness, body: dict[str, Any]) -> tuple[int, Any]:
    assert harness.app is not None
    response = await harness.app.test_client().post(
        "/admin/api/simulate/call", json={"from": CALLER, "to": IVR, **body}, headers=JSON,
        scope_base=LOOPBACK,
    )  # fmt: skip
    return response.status_code, await response.get_json()


def _said(answer: dict[str, Any]) -> list[str]:
    out = []
    for verb in answer["verbs"]:
        out += [c["text"] for c in verb["children"] if c["verb"] == "Say"]
        out += [verb["text"]] if verb["verb"] == "Say" else []
    return out


def _action(answer: dict[str, Any], verb: str) -> str:
    action: str = next(v for v in answer["verbs"] if v["verb"] == verb)["attrs"]["action"]
    return action


async def test_a_call_through_the_ivr_by_keypad(dev: Harness) -> None:
    status, rung = await _call(dev, {})
    assert status == 200, rung
    assert _said(rung) == ["Thanks for calling Acme.", MENU]
    gather = rung["verbs"][0]
    assert gather["verb"] == "Gather" and gather["attrs"]["numDigits"] == "1"
    sid, key = rung["call"], rung["key"]
    assert key == f"voice:{sid}"
    status, wrong = await _call(dev, {"call": sid, "action": gather["attrs"]["action"],
                                      "digits": "9"})  # fmt: skip
    assert _said(wrong)[0] == "Sorry, that's not one of the options."
    _, sales = await _call(dev, {"call": sid, "action": _action(wrong, "Gather"),
                                 "digits": "1"})  # fmt: skip
    assert [v["verb"] for v in sales["verbs"]] == ["Say", "Dial"]
    _, done = await _call(dev, {"call": sid, "action": _action(sales, "Dial"),
                                "dial": "completed"})  # fmt: skip
    assert [v["verb"] for v in done["verbs"]] == ["Say", "Hangup"]
    stored = await dev.store.conversation(key)
    assert stored is not None and (stored.state, stored.closed) == ("goodbye", True)
    status, ended = await _call(dev, {"call": sid, "hangup": True})
    assert status == 200 and ended["ended"] is True
    kinds = [e.kind for e in await dev.store.log(key) if e.direction == "in"]
    assert kinds == ["call", "gather", "gather", "dial", "hangup"]


async def test_a_retried_answer_is_one_step(dev: Harness) -> None:
    _, rung = await _call(dev, {})
    body = {"call": rung["call"], "action": _action(rung, "Gather"), "digits": "2"}
    _, first = await _call(dev, body)
    _, again = await _call(dev, body)  # the same document answered twice: Twilio's retry
    assert first["twiml"] == again["twiml"]
    stored = await dev.store.conversation(rung["key"])
    assert stored is not None and stored.version == 2


async def test_bad_simulated_calls_are_4xx(dev: Harness) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"from": "5550001111"}, "numbers like"),
        ({"call": "CAnope"}, "CallSid"),
        ({"call": "CA" + "0" * 32, "action": "https://elsewhere.example/"}, "action must be"),
        ({"call": "CA" + "0" * 32, "action": "/twilio?on=gather"}, "needs its step"),
        ({"call": "CA" + "0" * 32, "action": "/twilio?step=1&on=dial", "dial": "maybe"}, "dial"),
        ({"call": "CA" + "0" * 32, "action": "/twilio?step=1&on=record", "recording": -1},
         "recording"),
    ]  # fmt: skip
    for body, words in bad:
        status, answer = await _call(dev, body)
        assert 400 <= status < 500 and words in answer["error"], (body, answer)


async def test_the_simulated_call_is_dev_only(harness: Harness) -> None:
    assert harness.app is not None
    response = await harness.app.test_client().post(
        "/admin/api/simulate/call", json={"from": CALLER, "to": IVR},
        headers={**JSON, "Authorization": "Bearer alice-token-0123456789abcdef"},
    )  # fmt: skip
    assert response.status_code == 404


async def test_speech_at_a_speech_gather(dev: Harness) -> None:
    _, rung = await _call(dev, {"to": SPEECH_MENU_NUMBER})
    gather = next(v for v in rung["verbs"] if v["verb"] == "Gather")
    assert "speech" in gather["attrs"]["input"]
    body = {"to": SPEECH_MENU_NUMBER, "call": rung["call"], "action": gather["attrs"]["action"],
            "speech": "billing please"}  # fmt: skip
    _, billed = await _call(dev, body)
    assert _said(billed)[0].startswith("Your balance is")
    stored = await dev.store.conversation(rung["key"])
    assert stored is not None and stored.state == "billing"
