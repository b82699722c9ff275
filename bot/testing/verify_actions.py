"""Transcript caller actions for phone verification (the fake Verify API holds the codes).

``> [code]`` the person sends the code Verify last sent them (on a call: presses it);
``> [code wrong]`` a code that is not it. A transcript never writes a code down, so it stays
right whatever code the fake hands out.
"""

from __future__ import annotations

from bot.dev.reply import Reply
from bot.events.model import Channel
from bot.testing.runner import CALLER_ACTIONS, Runner
from bot.testing.transcript import Send
from bot.testing.voice import call_of

__all__ = ["code_action"]


def _code(runner: Runner, step: Send) -> str:
    twilio = runner.harness.twilio if runner.harness else None
    if twilio is None:
        raise runner.fail(step, "[code] needs the harness's fake Twilio")
    try:
        code = twilio.verify.code_for(runner.caller)
    except LookupError as exc:
        raise runner.fail(step, str(exc)) from None
    if step.args[:1] == ["wrong"]:
        return "000000" if code != "000000" else "111111"
    return code


async def code_action(runner: Runner, step: Send) -> Reply:
    """Send (or press) the code the person received."""
    code = _code(runner, step)
    if runner.channel is Channel.VOICE:
        return await call_of(runner, step).press(code)
    assert runner.phone is not None
    return await runner.phone.send(code)


CALLER_ACTIONS["code"] = code_action
