"""``switchboard conversations``: the admin operations from a terminal, on both backends."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.cli import main
from bot.testing import Harness
from flows import build

KEY = "sms:+15550100000:+15550001111"


async def _seed(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await h.phone("+15550001111").send("hi")
        await h.phone("+15550001111").send("2")
        await h.phone("+15550002222").send("hi")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_list_show_move_reset_end(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_seed(database))
    base = ["conversations", "--database", database, "--as", "carol"]
    code, out = _run(capsys, *base, "list", "--state", "order_lookup")
    assert code == 0 and KEY in out and "+15550002222" not in out
    code, out = _run(capsys, *base, "show", KEY)
    assert "> 2" in out and "order_lookup" in out
    code, out = _run(capsys, *base, "move", KEY, "question")
    assert code == 0 and "question" in out and "v3" in out
    code, out = _run(capsys, *base, "--json", "reset", KEY)
    assert json.loads(out)["conversation"]["state"] == "menu"
    code, out = _run(capsys, *base, "end", KEY)
    assert code == 0 and "closed" in out
    code, out = _run(capsys, *base, "--json", "show", KEY)
    audit = json.loads(out)["audit"]
    assert [(a["operator"], a["action"]) for a in audit] == [
        ("carol", "move"),
        ("carol", "reset"),
        ("carol", "end"),
    ]


def test_errors_are_one_line(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_seed(database))
    base = ["conversations", "--database", database]
    assert main([*base, "move", KEY, "nowhere"]) == 2
    assert "has no state 'nowhere'" in capsys.readouterr().err
    assert main([*base, "show", "sms:nobody"]) == 2
    assert "no conversation" in capsys.readouterr().err
    assert main([*base, "timers", KEY, "--fire", "nope"]) == 2
    assert main([*base, "outbox", "OBnope", "--retry"]) == 2
