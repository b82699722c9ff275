"""``switchboard consent``: history, operator changes and imports against a database file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.testing import Harness
from flows import build

PERSON = "+15550001111"


def test_operator_changes_imports_and_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "c.db"

    async def stop() -> None:
        async with Harness(build, db_path=db) as h:
            await h.phone(PERSON).send("STOP")

    asyncio.run(stop())
    url = f"sqlite:///{db}"
    assert main(["consent", "--database", url, "opt-in", "+15550100000", PERSON,
                 "--detail", "called us"]) == 0  # fmt: skip
    sheet = tmp_path / "legacy.csv"
    sheet.write_text(
        "ours,person,status,detail\n+15550100001,+15550001111,opted_out,crm 2025\n"
        "+15550100001,+15550002222,opted_in,\n"
    )
    assert main(["consent", "--database", url, "import", str(sheet)]) == 0
    assert "recorded 2 consent changes" in capsys.readouterr().out
    assert main(["consent", "--database", url, "history", PERSON]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1:4] for line in lines] == [
        ["+15550100000", "opted_out", "keyword"],
        ["+15550100000", "opted_in", "operator"],
        ["+15550100001", "opted_out", "import"],
    ]
    assert lines[1].endswith("called us") and lines[2].endswith("crm 2025")


def test_a_bad_import_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.db"
    asyncio.run(_create(db))
    sheet = tmp_path / "bad.csv"
    sheet.write_text("ours,person,status\n+15550100000,+15550001111,opted_out\n+1,+2,maybe\n")
    url = f"sqlite:///{db}"
    assert main(["consent", "--database", url, "import", str(sheet)]) == 2
    assert "bad.csv:3" in capsys.readouterr().err
    assert main(["consent", "--database", url, "history", PERSON]) == 0
    assert capsys.readouterr().out == f"no consent changes recorded for {PERSON}\n"
    assert main(["consent", "--database", url, "import", str(tmp_path / "none.csv")]) == 2


async def _create(db: Path) -> None:
    async with Harness(build, db_path=db):
        pass


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["opt-out", "+15550100000", "hello"], "person 'hello' is not an address"),
        (["opt-in", "15550100000", PERSON], "ours '15550100000' is not an address"),
        (["opt-out", "+15550100000", "15550001111"], "use +E.164"),
        (["history", "+1555"], "person '+1555' is not a possible phone number"),
    ],
)
def test_a_number_that_is_not_one_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    db = tmp_path / "c.db"
    asyncio.run(_create(db))
    url = f"sqlite:///{db}"
    assert main(["consent", "--database", url, *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("switchboard: ") and said in err and err.count("\n") == 1
    assert main(["consent", "--database", url, "history", "hello"]) == 2
    capsys.readouterr()
    sheet = tmp_path / "bad.csv"
    sheet.write_text("ours,person,status\n+15550100000,+15550001111,opted_out\n+1555,x,opted_in\n")
    assert main(["consent", "--database", url, "import", str(sheet)]) == 2
    assert "bad.csv:3: ours '+1555'" in capsys.readouterr().err
    assert main(["consent", "--database", url, "history", PERSON]) == 0
    assert capsys.readouterr().out == f"no consent changes recorded for {PERSON}\n"


def test_numbers_are_filed_as_conversations_find_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "c.db"
    asyncio.run(_create(db))
    url = f"sqlite:///{db}"
    assert (
        main(["consent", "--database", url, "opt-out", "+1 555 010 0000", "+1-555-000-1111"]) == 0
    )
    assert capsys.readouterr().out == f"recorded: {PERSON} opted_out in +15550100000 (operator)\n"
    assert main(["consent", "--database", url, "history", f"whatsapp:{PERSON}"]) == 0
    assert " +15550100000 opted_out operator" in capsys.readouterr().out
