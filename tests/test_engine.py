"""The engine through the real app: steps, dedupe, rollback, closing, async callbacks."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot import Flow, Router, T, Turn
from bot.testing import Harness
from storage.sqlite import SQLiteStore
from tests.test_flow import AsyncRecorder, Recorder

KEY = "sms:+15550100000:+15550001111"


class Exploding(Flow):
    name = "exploding"
    initial = "start"
    states = ["start", "next"]
    transitions = [
        T("message", "start", "next", conditions="is_boom", before="explode"),
        T("message", "start", "next", before="store_junk", conditions="is_junk"),
        T("message", "start", "next"),
    ]

    def is_boom(self, turn: Turn) -> bool:
        return turn.text == "boom"

    def is_junk(self, turn: Turn) -> bool:
        return turn.text == "junk"

    def explode(self, turn: Turn) -> None:
        turn.data["half"] = "written"
        turn.say("this reply must not be sent")
        raise RuntimeError("callback failed")

    def store_junk(self, turn: Turn) -> None:
        turn.data["junk"] = object()

    def on_enter_start(self, turn: Turn) -> None:
        turn.say("started")

    def on_enter_next(self, turn: Turn) -> None:
        turn.say("next")


def harness_for(*flows: type[Flow], default: str) -> Harness:
    return Harness.of(list(flows), Router(default=default))


async def test_first_message_enters_the_initial_state_then_triggers_run() -> None:
    async with harness_for(Recorder, default="recorder") as h:
        phone = h.phone("+15550001111")
        assert (await phone.send("hello")).messages == []
        assert (await phone.send("no")).messages == []
        assert (await phone.send("yes")).messages == ["in the middle"]
        stored = await h.store.conversation(KEY)
        assert stored is not None
        assert (stored.state, stored.data, stored.version) == ("middle", {"noted": True}, 3)


async def test_a_final_state_closes_and_the_next_message_starts_afresh() -> None:
    async with harness_for(Recorder, default="recorder") as h:
        phone = h.phone("+15550001111")
        for text in ("hi", "yes", "done"):
            await phone.send(text)
        closed = await h.store.conversation(KEY)
        assert closed is not None and closed.closed and closed.state == "end"
        await phone.send("again")
        fresh = await h.store.conversation(KEY)
        assert fresh is not None
        assert (fresh.state, fresh.closed, fresh.data, fresh.version) == ("start", False, {}, 4)


async def test_async_callbacks_are_awaited() -> None:
    async with harness_for(AsyncRecorder, default="async_recorder") as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        assert (await phone.send("yes")).messages == ["async middle"]


async def test_a_duplicate_message_sid_gets_the_first_answer_and_steps_once() -> None:
    async with Harness.of([Recorder], Router(default="recorder")) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        first = await phone.send("yes", sid="SM" + "a" * 32)
        again = await phone.send("yes", sid="SM" + "a" * 32)
        assert first.body == again.body and first.messages == ["in the middle"]
        stored = await h.store.conversation(KEY)
        assert stored is not None and stored.version == 2
        assert len(await h.store.log(KEY)) == 3  # hi, yes, one reply


async def test_a_repeated_idempotency_token_is_answered_once() -> None:
    async with Harness.of([Recorder], Router(default="recorder")) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        first = await phone.send("yes", token="delivery-1", sid="SM" + "d" * 32)
        # The same delivery retried: same MessageSid, same token (issue 17: the token is not
        # signed, so it counts only together with the request it came with).
        again = await phone.send("yes", token="delivery-1", sid="SM" + "d" * 32)
        assert first.body == again.body
        stored = await h.store.conversation(KEY)
        assert stored is not None and stored.version == 2


async def test_a_raising_callback_rolls_back_and_apologises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with harness_for(Exploding, default="exploding") as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        reply = await phone.send("boom", sid="SM" + "b" * 32)
        assert reply.status == 200
        assert reply.messages == [h.engine.apology]
        stored = await h.store.conversation(KEY)
        assert stored is not None
        assert (stored.state, stored.data, stored.version) == ("start", {}, 1)
        assert (
            "callback failed" in caplog.text
            and KEY in caplog.text
            and "SM" + "b" * 32 in caplog.text
        )
        log = await h.store.log(KEY)
        assert [entry.body for entry in log][-2:] == ["boom", h.engine.apology]
        assert (await phone.send("go on")).messages == ["next"]


async def test_data_that_cannot_be_stored_is_a_flow_error() -> None:
    async with harness_for(Exploding, default="exploding") as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        assert (await phone.send("junk")).messages == [h.engine.apology]
        stored = await h.store.conversation(KEY)
        assert stored is not None and stored.state == "start"


async def test_the_raw_row_holds_json_data() -> None:
    async with Harness.of([Recorder], Router(default="recorder")) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        await phone.send("yes")
        import sqlite3

        assert h.db_path is not None
        row = sqlite3.connect(h.db_path).execute("SELECT data FROM conversations").fetchone()
        assert json.loads(row[0]) == {"noted": True}


async def test_a_cancelled_request_leaves_no_open_transaction_and_no_half_write() -> None:
    async with Harness.of([Recorder], Router(default="recorder")) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        store = h.store
        assert isinstance(store, SQLiteStore)
        original = SQLiteStore._commit

        def slow_commit(conn, write):  # type: ignore[no-untyped-def]
            time.sleep(0.2)
            original(conn, write)

        SQLiteStore._commit = staticmethod(slow_commit)  # type: ignore[method-assign]
        try:
            task = asyncio.create_task(phone.send("yes", sid="SM" + "c" * 32))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            SQLiteStore._commit = staticmethod(original)  # type: ignore[method-assign]
        # The worker keeps serving; the cancelled turn was committed whole or not at all.
        retry = await phone.send("yes", sid="SM" + "c" * 32)
        assert retry.messages == ["in the middle"]
        stored = await h.store.conversation(KEY)
        assert stored is not None and (stored.state, stored.version) == ("middle", 2)
        assert [e.body for e in await h.store.log(KEY)] == ["hi", "yes", "in the middle"]
        assert len(h.engine.locks) == 0
