"""Issue 15 with issue 14: the caller is redeployed while its child runs, on both backends.

When the child returns, the caller's frame is placed in its flow's running version by the
rules that place any stored conversation: migrated (a renamed waiting state), handed to the
flow's ``on_lost`` (the waiting state gone, no migration), refused with a 503 when newer code
wrote it, and a caller whose flow is gone ends the conversation with the child; each logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot import Flow, Router
from bot.cli import main
from bot.flow.versions import Lost
from bot.testing import Harness
from storage.records import Conversation
from tests.versions.caller import CallerV1, CallerV2, Careless, Code, misplaced

KEY = "sms:+15550100000:+15550001111"
ME = "+15550001111"


def harness(url: str, *flows: type[Flow]) -> Harness:
    return Harness.of(
        list(flows or [CallerV1]),
        Router(default=flows[0].name if flows else "caller"),
        database_url=url,
    )


def _factory(url: str, *flows: type[Flow]) -> Any:
    return lambda s, *, store, clock: harness(url, *flows).factory(s, store=store, clock=clock)


async def _calling(h: Harness) -> None:
    phone = h.phone(ME)
    assert (await phone.send("hi")).messages == ["Your name?"]
    assert (await phone.send("Ada")).messages == ["The code?"]


async def _stored(h: Harness) -> Conversation:
    found = await h.store.conversation(KEY)
    assert found is not None
    return found


async def test_a_caller_migrated_while_its_child_ran_continues_from_the_new_state(
    url: str,
) -> None:
    async with harness(url) as h:
        await _calling(h)
        await h.deploy(_factory(url, CallerV2))
        assert (await h.phone(ME).send("1234")).messages == ["Done, Ada."]
        after = await _stored(h)
        assert (after.flow, after.state, after.flow_version, after.stack) == (
            "caller",
            "done",
            2,
            (),
        )
        assert after.data["first"] == "Ada" and "name" not in after.data
        entries = [e for e in await h.store.log(KEY) if e.kind in ("returned", "migrated")]
        assert [(e.kind, e.state_before, e.state_after) for e in entries] == [
            ("returned", "ok", "checking"), ("migrated", "calling", "checking")
        ]  # fmt: skip
        assert entries[1].meta["caller"] is True


@pytest.mark.parametrize("policy", [Lost.RESTART, Lost.CLOSE, Lost.HANDLER])
async def test_a_caller_whose_waiting_state_is_gone_follows_its_policy(
    url: str, policy: Lost, caplog: pytest.LogCaptureFixture
) -> None:
    class Lossy(Careless):
        on_lost = policy

    async with harness(url) as h:
        await _calling(h)
        await h.deploy(_factory(url, Lossy))
        with caplog.at_level(logging.WARNING, "switchboard.subflows"):
            reply = await h.phone(ME).send("1234")
        after = await _stored(h)
        assert after.stack == ()
        if policy is Lost.RESTART:
            assert reply.messages == ["We changed things; sorry.", "Your name?"]
            assert (after.flow, after.state, after.closed, after.data) == (
                "caller",
                "start",
                False,
                {},
            )
        elif policy is Lost.CLOSE:
            assert reply.messages == ["We changed things; sorry."]
            assert (after.flow, after.state, after.closed) == ("code", "ok", True)
            assert (await h.phone(ME).send("hello")).messages == ["Your name?"]
        else:
            # place_lost answers and names the state (it is not entered, as in the engine)
            assert reply.messages == ["You were in calling; the code was completed."]
            assert (after.flow, after.state, after.closed) == ("caller", "done", True)
        warned = [r.getMessage() for r in caplog.records if "no longer has" in r.getMessage()]
        assert len(warned) == 1 and KEY in warned[0] and "'calling'" in warned[0]
        lost = [e for e in await h.store.log(KEY) if e.kind == "lost"]
        assert [(e.state_before, e.meta["policy"]) for e in lost] == [("calling", policy.value)]


@pytest.mark.parametrize("target", ["start", "asking"])
async def test_a_migrated_caller_that_takes_no_such_outcome_refuses_the_return(
    url: str, target: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: the caller stayed in a state with no transition for the outcome (and one
    that calls a subflow called it at once); now the return is refused, logged, and the
    caller placed by its ``on_lost`` (restart here)."""
    async with harness(url) as h:
        await _calling(h)
        await h.deploy(_factory(url, misplaced(target)))
        with caplog.at_level(logging.WARNING, "switchboard.subflows"):
            reply = await h.phone(ME).send("0000")  # the code is wrong: outcome "failed"
        assert reply.messages == ["We changed things; sorry.", "Your name?"]
        after = await _stored(h)
        assert (after.flow, after.state, after.data, after.stack) == ("caller", "start", {}, ())
        warned = [r.getMessage() for r in caplog.records if "return is refused" in r.getMessage()]
        assert len(warned) == 1 and KEY in warned[0] and f"{target!r}" in warned[0]
        lost = [e for e in await h.store.log(KEY) if e.kind == "lost"]
        assert [(e.state_before, e.meta["outcome"], e.meta["policy"]) for e in lost] == [
            (target, "failed", "restart")
        ]
        assert (await h.phone(ME).send("Bea")).messages == ["The code?"]


@pytest.mark.parametrize("policy", [Lost.CLOSE, Lost.HANDLER])
async def test_a_refused_return_follows_the_callers_other_policies(url: str, policy: Lost) -> None:
    async with harness(url) as h:
        await _calling(h)
        await h.deploy(_factory(url, misplaced("asking", policy)))
        reply = await h.phone(ME).send("0000")
        after = await _stored(h)
        assert after.stack == ()
        if policy is Lost.CLOSE:  # the conversation ends where the child ended
            assert reply.messages == ["We changed things; sorry."]
            assert (after.flow, after.state, after.closed) == ("code", "wrong", True)
        else:  # place_lost is told the state the caller was migrated to
            assert reply.messages == ["You were in asking; the code was failed."]
            assert (after.flow, after.state, after.closed) == ("caller", "done", True)


async def test_a_caller_written_by_newer_code_is_refused_until_that_code_answers(url: str) -> None:
    async with harness(url, CallerV2) as h:
        await _calling(h)  # the frame is written at version 2
        waiting = await _stored(h)
        await h.deploy(_factory(url, CallerV1))  # a v1 instance still running
        reply = await h.phone(ME).send("1234")
        assert reply.status == 503
        assert await _stored(h) == waiting  # nothing ran, nothing was written
        await h.deploy(_factory(url, CallerV2))
        assert (await h.phone(ME).send("1234")).messages == ["Done, Ada."]


async def test_a_caller_whose_flow_is_gone_ends_the_conversation_with_the_child(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness(url) as h:
        await _calling(h)
        await h.deploy(_factory(url, Code))  # the caller's flow is not deployed any more
        with caplog.at_level(logging.WARNING, "switchboard.subflows"):
            reply = await h.phone(ME).send("1234")
        assert reply.status == 200 and reply.messages == []
        after = await _stored(h)
        assert (after.flow, after.state, after.closed, after.stack) == ("code", "ok", True, ())
        assert any("does not run" in r.getMessage() for r in caplog.records)
        lost = [e for e in await h.store.log(KEY) if e.kind == "lost"]
        assert [e.meta["policy"] for e in lost] == ["flow_gone"]


async def test_flows_check_reports_a_caller_its_redeploy_would_lose(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with harness(url) as h:
        await _calling(h)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret-token")
    app = "tests.versions.app_caller_careless:app"
    argv = ["flows", "check", "--app", app, "--database", url]
    assert await asyncio.to_thread(main, argv) == 1
    out = capsys.readouterr().out
    caller = next(line for line in out.splitlines() if "(caller)" in line)
    assert "calling (caller)" in caller and "waiting for a subflow" in caller
    assert "LOST" in caller and "restarted" in caller
    assert any(line.strip().startswith("ask ") and "continues" in line for line in out.splitlines())
