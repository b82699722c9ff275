"""The voice examples in docs/flows.md and docs/transcripts.md work as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot import Channel, Router
from bot.flow.diagram import mermaid
from bot.testing import Harness
from bot.testing.runner import Runner, reply_lines
from bot.testing.transcript import parse
from flows import IvrFlow, SpeechMenuFlow, build

DOCS = Path(__file__).parent.parent / "docs"


def _block(doc: str, language: str, containing: str) -> str:
    text = (DOCS / doc).read_text(encoding="utf-8")
    found = [b for b in re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL) if containing in b]
    assert found, f"no {language} block with {containing!r} in {doc}"
    block: str = found[0]
    return block


async def test_the_voice_flow_in_the_guide_runs() -> None:
    namespace: dict[str, Any] = {}
    exec(_block("flows.md", "python", "class FrontDesk"), namespace)
    router = Router()
    router.set_default("front_desk", Channel.VOICE)
    async with Harness.of([namespace["FrontDesk"]], router) as harness:
        call = harness.call("+15550001111")
        assert [t for t, _ in reply_lines(await call.start())] == ["say: Press 1 for sales."]
        lines = [t for t, _ in reply_lines(await call.press("1"))]
        assert lines == ["say: Connecting you.", "dial: +15550102001"]
        lines = [t for t, _ in reply_lines(await call.dial_ends("no-answer"))]
        assert lines == ["say: Nobody picked up.", "say: Press 1 for sales."]
        await call.silence()
        lines = [t for t, _ in reply_lines(await call.silence())]
        assert lines == ["say: Goodbye.", "hangup"]


async def test_the_voice_transcript_in_the_format_guide_passes() -> None:
    text = _block("transcripts.md", "", "flow: ivr\nchannel: voice")
    assert text.startswith("# The IVR")
    await Runner(parse(text, "docs/transcripts.md"), build).run()


def test_the_voice_flows_draw_as_diagrams() -> None:
    ivr, speech = mermaid(IvrFlow), mermaid(SpeechMenuFlow)
    assert "menu --> sales: gather [pressed 1]" in ivr
    assert "menu --> goodbye: no_input (after 2 tries) | invalid (after 2 tries)" in ivr
    assert "voicemail --> saved: recording [has_recording]" in ivr
    assert "support --> menu: dial" in speech and "menu --> operator" in speech
