"""Every transcript of the suite, replayed on PostgreSQL too (the plugin runs them on SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.testing.runner import Runner
from bot.testing.transcript import Send, Transcript, parse
from flows import build

FILES = sorted((Path(__file__).parents[1] / "transcripts").glob("*.transcript"))
TRANSCRIPTS = [parse(p.read_text(encoding="utf-8"), str(p)) for p in FILES]


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[p.stem for p in FILES])
async def test_transcript_on_postgres(transcript: Transcript, postgres_schema_url: str) -> None:
    runner = Runner(transcript, build, database_url=postgres_schema_url)
    await runner.run()  # raises TranscriptMismatch on the first turn that differs
    assert runner.turn == sum(isinstance(step, Send) for step in transcript.steps)
