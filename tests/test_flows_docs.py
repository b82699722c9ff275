"""The first example of docs/flows.md registers and runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot import Router
from bot.testing import Harness

GUIDE = (Path(__file__).parent.parent / "docs" / "flows.md").read_text(encoding="utf-8")


async def test_the_support_flow_at_the_top_of_the_guide_runs() -> None:
    first = re.findall(r"```python\n(.*?)```", GUIDE, re.DOTALL)[0]
    namespace: dict[str, Any] = {}
    exec(first, namespace)
    async with Harness.of([namespace["SupportFlow"]], Router(default="support")) as harness:
        phone = harness.phone("+15550001111")
        assert (await phone.send("hi")).messages == ["Reply 1 to ask a question."]
        again = ["Sorry, I didn't get that.", "Reply 1 to ask a question."]
        assert (await phone.send("?")).messages == again
        assert (await phone.send("1")).messages == []
        reply = await phone.send("Do you ship to Canada?")
        assert reply.messages == ["Thanks, we'll text you back.", "Reply 1 to ask a question."]
