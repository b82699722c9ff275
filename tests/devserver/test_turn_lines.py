"""The dev turn line's content: what was said (as the log holds it, so a verification code
stays masked) and what was answered or queued; none of it in production's line (issue 11)."""

from __future__ import annotations

import logging

import pytest

from bot.engine.subflows import MASK
from bot.observe.config import ObserveSettings
from bot.testing import Harness
from flows import SIGNUP_NUMBER, build
from tests.observe.apps import harness

ME = "+15557654321"
DEV = ObserveSettings(log_turns=True, log_content=True)


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "switchboard.turns"]


async def test_a_dev_line_shows_what_was_said_answered_and_queued(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="switchboard.turns")
    async with harness(DEV) as h:
        phone = h.phone(ME)
        await phone.send("hello")
        await phone.send("yes")
        await phone.send("yes", sid="SM" + "7" * 32)
        await phone.send("yes", sid="SM" + "7" * 32)  # a duplicate: nothing stepped
    first, second, third, duplicate = _lines(caplog)
    assert "quiz ask → ask (ok)" in first and first.endswith(" | 'hello' → 'Yes?'")
    assert second.endswith("| 'yes' → 'Got it'; sends 'Thanks, noted: yes' to " + ME)
    assert "answered → done (ok)" in third and third.endswith("| 'yes' → nothing")
    assert "(duplicate)" in duplicate and "|" not in duplicate


async def test_production_lines_carry_no_content(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="switchboard.turns")
    async with harness(ObserveSettings(log_turns=True)) as h:
        await h.phone(ME).send("my secret words")
    [line] = _lines(caplog)
    assert "secret" not in line and "Yes?" not in line and "|" not in line


async def test_a_verification_code_stays_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="switchboard.turns")
    async with Harness(build, settings={"observe": DEV}) as h:
        phone = h.phone(ME, SIGNUP_NUMBER)
        await phone.send("hi")
        await phone.send("Ada")
        assert h.twilio is not None
        code = h.twilio.verify.code_for(ME)
        await phone.send(code)
    lines = _lines(caplog)
    assert code not in "\n".join(lines)
    assert any(f"| {MASK!r} → 'Thanks, your number is verified.'" in x for x in lines), lines
