"""The README's five-minute flow and its transcript work as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from quart import Quart

from bot import Clock, Router, Settings, create_app
from bot.testing.runner import Runner
from bot.testing.transcript import parse
from flows import EXAMPLE_FLOWS
from storage import Store

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


async def test_the_pizza_flow_replays_its_transcript() -> None:
    namespace: dict[str, Any] = {}
    exec(blocks("python")[0], namespace)
    pizza = namespace["PizzaFlow"]
    transcript = parse(blocks("text")[0], "README.md")

    def factory(settings: Settings, *, store: Store, clock: Clock) -> Quart:
        router = Router(default="support")
        router.add("+15550100001", "pizza")
        return create_app([*EXAMPLE_FLOWS, pizza], router, settings, store=store, clock=clock)

    runner = Runner(transcript, factory)
    await runner.run()  # raises TranscriptMismatch on the first turn that differs
    assert runner.turn == 4  # hi, XL, m, mushrooms: every turn of the README's transcript


def test_the_readme_names_both_commands() -> None:
    shell = blocks("sh")
    assert any("switchboard serve" in block for block in shell)
    assert any("pytest" in block and "[test]" in block for block in shell)
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(block.strip() for block in shell if "pytest" in block)
    assert test_command.replace("pip install", "pip install -q") in ci
