"""Transcript caller actions for outbound messaging, and what the fake Twilio received.

``> [start FLOW key=value ...]``  we start FLOW with the caller (data from the arguments);
``> [wait 2h]``                   time passes: due timers fire and the outbox is sent.

Both answer with the messages the fake Twilio REST API accepted for the caller meanwhile,
so ``<`` lines after them read like any reply.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.dev.harness import Harness
from bot.dev.reply import Reply
from bot.flow.intents import parse_delay
from bot.outbound.start import start_conversation
from bot.testing.runner import CALLER_ACTIONS, Runner
from bot.testing.transcript import Send

__all__ = ["outbound_reply", "start_action", "wait_action"]


def _harness(runner: Runner) -> Harness:
    if runner.harness is None or runner.harness.twilio is None:
        raise RuntimeError("the transcript runner has no harness with a fake Twilio")
    return runner.harness


def _wire(runner: Runner, number: str) -> str:
    return f"whatsapp:{number}" if runner.channel.value == "whatsapp" else number


async def outbound_reply(runner: Runner) -> Reply:
    """Send what is due, then the messages the caller received since the last such reply."""
    harness = _harness(runner)
    await harness.drain()
    assert harness.twilio is not None
    received = harness.twilio.sent(_wire(runner, runner.caller))
    seen: int = getattr(runner, "_outbound_seen", 0)
    runner._outbound_seen = len(received)  # type: ignore[attr-defined]
    # A reply-shaped document for the transcript runner (never sent anywhere).
    root = ET.Element("Response")
    for message in received[seen:]:
        ET.SubElement(root, "Message").text = message.body
    return Reply(200, ET.tostring(root, encoding="unicode"), "text/xml; charset=utf-8")


async def start_action(runner: Runner, step: Send) -> Reply:
    """``[start FLOW key=value ...]``."""
    if not step.args:
        raise runner.fail(step, "[start] needs a flow name: [start appointments name=Ana]")
    flow, *pairs = step.args
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise runner.fail(step, f"[start] arguments are key=value, got {pair!r}")
        data[key] = value
    harness = _harness(runner)
    await start_conversation(
        harness.engine, flow, _wire(runner, runner.caller), from_=_wire(runner, runner.ours),
        data=data,
    )  # fmt: skip
    return await outbound_reply(runner)


async def wait_action(runner: Runner, step: Send) -> Reply:
    """``[wait 2h]``: the clock moves on; timers fire; the outbox is sent."""
    if len(step.args) != 1:
        raise runner.fail(step, "[wait] takes one duration, like [wait 2h] or [wait 1d30m]")
    try:
        runner.clock.advance(parse_delay(step.args[0]))
    except ValueError as exc:
        raise runner.fail(step, str(exc)) from None
    return await outbound_reply(runner)


CALLER_ACTIONS["start"] = start_action
CALLER_ACTIONS["wait"] = wait_action
