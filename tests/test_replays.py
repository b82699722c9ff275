"""A reused MessageSid with another body, or from another conversation, is answered as a
duplicate and logged as suspicious, without the bodies; a true retry is not (issue 11).
Both backends.

A retry is answered from the store only as consent and the WhatsApp window allow at the
retry: the answer to a message the person sent before their STOP is not sent again after it
(guarantees under attack, 2026-11-24)."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest

from bot import Channel, Flow, Router, T, Turn
from bot.testing import Harness
from storage.base import Store

SID = "SM" + "ab" * 16
ANNA, BORIS = "+15550001111", "+15550002222"


class Echo(Flow):
    name = "echo"
    initial = "listening"
    states = ["listening"]
    transitions = [T("message", "listening", "listening", after="echo")]

    def on_enter_listening(self, turn: Turn) -> None:
        turn.say(f"you said {turn.event.text}")

    def echo(self, turn: Turn) -> None:
        turn.say(f"you said {turn.event.text}")


def _suspicious(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "suspicious" in r.getMessage()]


async def test_a_retry_with_the_same_body_is_quietly_a_duplicate(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="switchboard.engine")
    async with Harness.of([Echo], Router(default="echo"), database_url=url) as h:
        first = await h.phone(ANNA).send("hello there", sid=SID)
        again = await h.phone(ANNA).send("hello there", sid=SID)
    assert again.messages == first.messages == ["you said hello there"]
    assert _suspicious(caplog) == []


async def test_a_reused_sid_with_another_body_is_logged_without_the_bodies(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="switchboard.engine")
    async with Harness.of([Echo], Router(default="echo"), database_url=url) as h:
        await h.phone(ANNA).send("hello there", sid=SID)
        reused = await h.phone(ANNA).send("transfer all my money", sid=SID)
        log = await h.store.log("sms:+15550100000:" + ANNA)
    assert reused.messages == ["you said hello there"]  # the first answer, nothing stepped
    assert [e.body for e in log if e.direction == "in"] == ["hello there"]
    [line] = _suspicious(caplog)
    assert SID in line and f"sms:+15550100000:{ANNA}" in line and "body differs" in line
    assert "hello" not in line and "money" not in line
    first = hashlib.sha256(b"hello there").hexdigest()[:8]
    assert f"11 chars, sha256 {first}" in line and "21 chars" in line


async def test_a_sid_reused_from_another_conversation_is_logged(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="switchboard.engine")
    async with Harness.of([Echo], Router(default="echo"), database_url=url) as h:
        await h.phone(ANNA).send("hello there", sid=SID)
        await h.phone(BORIS).send("hello there", sid=SID)
    [line] = _suspicious(caplog)
    assert f"first delivered in sms:+15550100000:{ANNA}" in line
    assert f"now from sms:+15550100000:{BORIS}" in line and "hello" not in line


async def test_the_first_delivery_is_read_only_for_duplicates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Harness.of([Echo], Router(default="echo")) as h:
        store: Store = h.store
        looked: list[str] = []
        real = store.first_delivery

        async def counted(key: str, sid: str) -> object:
            looked.append(key)
            return await real(key, sid)

        monkeypatch.setattr(store, "first_delivery", counted)
        for n in range(3):
            await h.phone(ANNA).send(f"message {n}")
        assert looked == []
        await h.phone(ANNA).send("hello", sid=SID)
        await h.phone(ANNA).send("hello", sid=SID)
        assert looked == [f"msg:{SID}"]


async def test_a_reuse_found_only_at_commit_is_logged_too(
    url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process recorded the sid between this one's load and its commit."""
    caplog.set_level(logging.WARNING, logger="switchboard.engine")
    async with Harness.of([Echo], Router(default="echo"), database_url=url) as h:
        await h.phone(ANNA).send("hello there", sid=SID)
        store: Store = h.store
        real = store.load

        async def loaded_before_the_other_commit(key: str, idem: object) -> object:
            return await real(key, ())  # the idempotency record not there yet

        monkeypatch.setattr(store, "load", loaded_before_the_other_commit)
        reused = await h.phone(ANNA).send("something else", sid=SID)
    assert reused.messages == ["you said hello there"]  # the first answer, from the commit
    [line] = _suspicious(caplog)
    assert SID in line and "body differs" in line and "something" not in line


async def test_a_retry_after_the_persons_stop_is_answered_with_nothing(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="switchboard.engine")
    async with Harness.of([Echo], Router(default="echo"), database_url=url) as h:
        anna = h.phone(ANNA)
        first = await anna.send("hello there", sid=SID)
        stop_sid = "SM" + "cd" * 16
        stopped = await anna.send("STOP", sid=stop_sid)
        again = await anna.send("hello there", sid=SID)  # Twilio's retry, after the STOP
        stop_again = await anna.send("STOP", sid=stop_sid)  # the STOP's own retry
    assert first.messages == ["you said hello there"]
    assert again.messages == []
    assert stop_again.messages == stopped.messages and "unsubscribed" in stopped.messages[0]
    lines = [r.getMessage() for r in caplog.records if "not sent again" in r.getMessage()]
    assert lines == [
        f"stored answer to {ANNA} in sms:+15550100000:{ANNA} not sent again: opted_out"
    ]


async def test_a_whatsapp_retry_after_the_window_closed_is_answered_with_nothing(url: str) -> None:
    async with Harness.of([Echo], Router(default="echo"), database_url=url) as h:
        anna = h.phone(ANNA, channel=Channel.WHATSAPP)
        first = await anna.send("hello there", sid=SID)
        h.clock.advance(timedelta(hours=25))
        again = await anna.send("hello there", sid=SID)
    assert first.messages == ["you said hello there"] and again.messages == []
