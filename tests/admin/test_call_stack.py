"""A conversation inside subflows shows its call stack, on both backends: the running flow,
each caller's frame, the subflow it runs and what it waits for."""

from __future__ import annotations

from bot import Router
from bot.testing import Harness
from tests.admin.conftest import TOKENS, Api, path
from tests.test_subflows import Parent

KEY = "sms:+15550100000:+15550001111"


async def test_the_call_stack_of_a_nested_subflow(database: str) -> None:
    async with Harness.of(
        [Parent], Router(default="parent"), database_url=database,
        settings={"console_tokens": TOKENS},
    ) as harness:  # fmt: skip
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
