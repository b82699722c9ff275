"""What `switchboard chat` saves reads back exactly: awkward texts round-trip through the parser."""

from __future__ import annotations

import pytest

from bot.dev.recording import Recording, reply_line, sent_line
from bot.testing.transcript import Check, Send, parse

AWKWARD = ["plain", "two\nlines", "(no reply)", "/looks like a pattern/", " spaced ", "tab\there",
           "a+b*c?", "[bracketed]", "# not a comment", "trailing  "]  # fmt: skip


@pytest.mark.parametrize("text", AWKWARD)
def test_an_answer_is_matched_exactly_and_nothing_else(text: str) -> None:
    [step] = parse(f"> hi\n{reply_line(text)}\n").steps
    assert isinstance(step, Send)
    [expect] = step.expect
    assert expect.matches(text)
    assert not expect.matches(text + "x") and not expect.matches("x" + text)


@pytest.mark.parametrize("text", [t for t in AWKWARD if "\n" not in t])
def test_a_message_is_sent_as_typed(text: str) -> None:
    [step] = parse(f"{sent_line(text)}\n< ok\n").steps
    assert isinstance(step, Send)
    sent = step.args[0] if step.action == "text" else step.text
    assert step.action in (None, "text") and sent == text


def test_a_recording_is_a_transcript_with_its_header() -> None:
    recording = Recording({"flow": "support", "channel": "sms"})
    recording.turn(sent_line("hi"), [("Hello", ["https://x/a.png"])])
    recording.turn("> [wait 2h]", [])
    recording.check("= state menu")
    recording.note("sent to +15550002222: hello\nsecond line")
    transcript = parse(recording.text())
    assert transcript.header == {"flow": "support", "channel": "sms"}
    first, wait, check = transcript.steps
    assert isinstance(first, Send) and first.expect[0].media == ["https://x/a.png"]
    assert isinstance(wait, Send) and wait.no_reply
    assert isinstance(check, Check) and (check.what, check.value) == ("state", "menu")
    assert "# second line" in recording.text()
