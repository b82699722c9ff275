"""A conversation inside subflows shows its call stack, on both backends: the running flow,
each caller's frame, the subflow it runs and what it waits for."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from bot import Router
from bot.testing import Harness
from tests.admin.conftest import TOKENS, Api, path
from tests.test_subflows import Parent

KEY = "sms:+15550100000:+15550001111"


def _harness(database: str) -> Harness:
    return Harness.of(
        [Parent], Router(default="parent"), database_url=database,
        settings={"console_tokens": TOKENS},
    )  # fmt: skip


async def test_the_call_stack_of_a_nested_subflow(database: str) -> None:
    async with _harness(database) as harness:
        api, phone = Api(harness), harness.phone("+15550001111")
        await phone.send("hi")
        _, shown = await api.get(path(KEY))
        assert shown["stack"] == [{"flow": "parent", "state": "start", "running": True,
                                   "calls": None, "waits_for": ["message"]}]  # fmt: skip
        await phone.send("go")  # parent calls child
        await phone.send("more")  # child calls grandchild
        _, shown = await api.get(path(KEY))
        assert [(f["flow"], f["state"], f["calls"], f["waits_for"], f["running"])
                for f in shown["stack"]] == [
            ("parent", "calling", "child", ["completed", "expired", "failed"], False),
            ("child", "deeper", "grandchild", ["completed"], False),
            ("grandchild", "ask", None, ["message"], True),
        ]  # fmt: skip
        assert [(c["flow"], c["state"]) for c in shown["conversation"]["calls"]] == [
            ("parent", "calling"), ("child", "deeper"),
        ]  # fmt: skip
        await phone.send("blue")  # grandchild returns to child, child to parent
        _, shown = await api.get(path(KEY))
        assert [(f["flow"], f["state"]) for f in shown["stack"]] == [("parent", "happy")]


async def test_a_reset_inside_a_subflow_resets_the_whole_conversation(database: str) -> None:
    """Regression: a reset while a child ran restarted the child with empty data (its call
    arguments lost) under a caller still waiting. Now it is the outermost flow's initial
    state, the stack dropped, the child's timer cancelled, all in the audit and history."""
    async with _harness(database) as harness:
        api, phone = Api(harness), harness.phone("+15550001111")
        await phone.send("hi")
        await phone.send("go")  # the child runs, its ask.silence timer set
        status, done = await api.post(path(KEY) + "/reset", {"run_callbacks": True})
        assert (status, done["conversation"]["flow"]) == (200, "parent")
        stored = await harness.store.conversation(KEY)
        assert stored is not None
        assert (stored.flow, stored.state, stored.stack, stored.closed) == (
            "parent", "start", (), False,
        )  # fmt: skip
        assert stored.data == {"mine": "kept"}  # empty, then the parent's on_enter_start ran
        _, shown = await api.get(path(KEY))
        assert shown["timers"] == []
        assert [
            (t["event"], t["name"], t["reason"]) for t in shown["timeline"] if t["type"] == "timer"
        ][-1] == ("cancelled", "ask.silence", "call stack changed")
        _, audit = await api.get("/admin/api/audit?conversation=" + quote(KEY))
        entry = audit["audit"][0]
        assert entry["action"] == "reset"
        assert (entry["before"]["flow"], entry["before"]["state"], entry["before"]["calls"]) == (
            "child", "ask", [{"flow": "parent", "state": "calling"}],
        )  # fmt: skip
        assert (entry["after"]["flow"], entry["after"]["state"], entry["after"]["calls"]) == (
            "parent", "start", [],
        )  # fmt: skip
        harness.clock.advance(timedelta(hours=2))  # the child's timeout would have fired
        assert await harness.runtime.timers.run_once() == 0
        # the parent calls its child again, with its arguments
        assert (await phone.send("go")).messages == ["Child for Ada: the code?"]
