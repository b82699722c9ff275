"""``switchboard conversations``: the admin operations from a terminal, on both backends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.outbound.start import start_conversation
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


def test_an_empty_list_says_so(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["conversations", "--database", database]

    async def empty() -> None:
        async with Harness(build, database_url=database):
            pass  # the schema, no conversation

    asyncio.run(empty())
    assert _run(capsys, *base, "list") == (0, "no conversations recorded\n")
    asyncio.run(_seed(database))
    code, out = _run(capsys, *base, "list", "--state", "nowhere", "--status", "open")
    assert (code, out) == (0, "no conversations match --state nowhere --status open\n")


def test_errors_are_one_line(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_seed(database))
    base = ["conversations", "--database", database]
    assert main([*base, "move", KEY, "nowhere"]) == 2
    assert "has no state 'nowhere'" in capsys.readouterr().err
    assert main([*base, "show", "sms:nobody"]) == 2
    assert "no conversation" in capsys.readouterr().err
    assert main([*base, "timers", KEY, "--fire", "nope"]) == 2
    assert main([*base, "outbox", "OBnope", "--retry"]) == 2


def test_timers_and_their_history(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def seed() -> str:
        async with Harness(build, database_url=database) as h:
            started = await start_conversation(
                h.engine, "appointments", "+15550004444", from_="+15550100000",
                data={"name": "Ann", "when": "Friday"},
            )  # fmt: skip
            return started.key

    key = asyncio.run(seed())
    base = ["conversations", "--database", database, "--as", "carol"]
    code, out = _run(capsys, *base, "timers", key)
    assert code == 0 and "reminding.no_reply" in out and "reminding.day_passed" in out
    code, out = _run(capsys, *base, "timers", key, "--cancel", "reminding.day_passed")
    assert code == 0
    code, out = _run(capsys, *base, "show", key)
    assert "~ timer reminding.no_reply set" in out
    assert "~ timer reminding.day_passed cancelled (operator carol)" in out


def test_a_missing_database_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.db"
    assert main(["conversations", "--database", f"sqlite:///{missing}", "list"]) == 2
    assert "no database at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_show_prints_the_outbox_id_outbox_message_takes(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seed() -> str:
        async with Harness(build, database_url=database) as h:
            started = await start_conversation(
                h.engine, "appointments", "+15550004444", from_="+15550100000",
                data={"name": "Ann", "when": "Friday"},
            )  # fmt: skip
            return started.key

    key = asyncio.run(seed())
    code, out = _run(capsys, "conversations", "--database", database, "show", key)
    [line] = [line for line in out.splitlines() if "  < [" in line]
    assert "Hi Ann" in line
    outbox_id = line.split()[-1]
    assert outbox_id.startswith("OB")
    code, out = _run(capsys, "outbox", "--database", database, "--message", outbox_id)
    assert code == 0 and "queued" in out
