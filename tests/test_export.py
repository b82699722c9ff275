"""A stored conversation exported as a transcript replays green."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import Channel
from bot.cli import main
from bot.export.transcript import to_transcript
from bot.testing import Harness
from bot.testing.runner import Runner
from bot.testing.transcript import parse
from flows import build

KEY = "whatsapp:+14155238886:+447700900123"


async def record(h: Harness) -> None:
    phone = h.phone("+447700900123", to="+14155238886", channel=Channel.WHATSAPP)
    await phone.send("hi")
    await phone.send("1")
    h.clock.advance(5400)
    await phone.send("broken lid", media=[("https://example.com/lid.jpg", "image/jpeg")])
    await phone.send("2")


async def test_an_exported_conversation_replays_as_a_passing_transcript(tmp_path: Path) -> None:
    async with Harness(build) as h:
        await record(h)
        stored = await h.store.conversation(KEY)
        assert stored is not None
        text = to_transcript(stored, await h.store.log(KEY))
    assert "@ +1h30m" in text and ">+ https://example.com/lid.jpg" in text
    assert "channel: whatsapp" in text and "from: +447700900123" in text
    await Runner(parse(text, "exported"), build).run()


def test_the_cli_exports_from_a_database_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"

    async def fill() -> None:
        async with Harness(build, db_path=db) as h:
            await record(h)

    asyncio.run(fill())
    assert main(["export", KEY, "--database", f"sqlite:///{db}"]) == 0
    assert "> broken lid" in capsys.readouterr().out
    assert main(["export", "sms:+1:+2", "--database", f"sqlite:///{db}"]) == 2
