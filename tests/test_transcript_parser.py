"""The transcript parser: what each line means, and errors that name the line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.testing.transcript import (
    Advance,
    Check,
    Deploy,
    Send,
    TranscriptSyntaxError,
    parse,
    parse_duration,
)


def test_a_full_transcript_parses_into_steps() -> None:
    t = parse(
        "# comment\nflow: support\nchannel: whatsapp\nfrom: +1\nto: +2\n\n"
        "> hi\n>+ https://x/a.jpg image/png\n< Hello\n<+ https://x/b.png\n< /Order .*/\n"
        "@ +1d2h\n> [digits 12]\n< (no reply)\n= state menu\n",
        "t.transcript",
    )
    assert t.header == {"flow": "support", "channel": "whatsapp", "from": "+1", "to": "+2"}
    first, clock, second, check = t.steps
    assert isinstance(first, Send) and first.text == "hi"
    assert first.media == [("https://x/a.jpg", "image/png")]
    assert [e.text for e in first.expect] == ["Hello", "/Order .*/"]
    assert first.expect[0].media == ["https://x/b.png"]
    assert first.expect[1].matches("Order A1 is here") and not first.expect[1].matches("x")
    assert isinstance(clock, Advance) and clock.delta == timedelta(days=1, hours=2)
    assert isinstance(second, Send) and (second.action, second.args) == ("digits", ["12"])
    assert second.no_reply
    assert isinstance(check, Check) and (check.what, check.value) == ("state", "menu")


def test_reply_text_keeps_inner_spaces_exactly() -> None:
    t = parse("> hi\n<  two  spaces \n")
    send = t.steps[0]
    assert isinstance(send, Send) and send.expect[0].text == " two  spaces"


def test_speech_action_arguments_are_quoted_words() -> None:
    send = parse('> [speech "I want billing" 0.92]\n< (no reply)\n').steps[0]
    assert isinstance(send, Send) and send.args == ["I want billing", "0.92"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("< hello\n", "reply or attachment line comes before anything was sent"),
        ("> hi\n", "nothing is expected after this line"),
        ("> hi\n< (no reply)\n< hello\n", "a reply line after (no reply)"),
        ("> hi\n<+ https://x\n", "<+ (media) must follow a < reply line"),
        ("> hi\n< x\n@ tomorrow\n", "Invalid isoformat string"),
        ("> hi\n< x\n@ +2y\n", "not a duration"),
        ("> hi\n< x\n= mood happy\n", "unknown check 'mood'"),
        ("colour: blue\n", "unknown header 'colour'"),
        ("> []\n< x\n", "empty caller action"),
    ],
)
def test_mistakes_name_the_line(text: str, message: str) -> None:
    with pytest.raises(TranscriptSyntaxError) as caught:
        parse(text, "f.transcript")
    assert message in str(caught.value) and "f.transcript:" in str(caught.value)


def test_durations() -> None:
    assert parse_duration("+90s") == timedelta(seconds=90)
    assert parse_duration("+1d 30m") == timedelta(days=1, minutes=30)
    with pytest.raises(ValueError):
        parse_duration("+1h1")


def test_a_deploy_line_names_the_app_factory() -> None:
    steps = parse("! deploy tests.versions.signup:build_v2\n> hi\n< (no reply)\n").steps
    assert isinstance(steps[0], Deploy) and steps[0].target == "tests.versions.signup:build_v2"


@pytest.mark.parametrize(
    "line", ["! deploy", "! deploy nocolon", "! restart x:y", "! deploy a:b c"]
)
def test_a_bad_operator_line_names_the_line(line: str) -> None:
    with pytest.raises(TranscriptSyntaxError, match=r"<transcript>:2: .*! deploy module:callable"):
        parse(f"# header\n{line}\n")
