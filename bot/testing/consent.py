"""Transcript caller actions for consent and the WhatsApp window.

``> [text " Stop "]`` sends the text exactly as quoted (a plain ``>`` line is stripped), and
``> [proactive KIND words…]`` asks the outbound gate (``engine.gate``) to send ``words`` to the
caller from our number as a business-initiated message of kind ``KIND`` (``-`` for none),
showing what would go to Twilio:

    < the text                                  allowed as free-form
    < [template HX… {"1": "x"}]                 rewritten to the approved template
    < [refused window_closed]                   refused (or opted_out)
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from bot.compliance.gate import Outgoing
from bot.dev.reply import Reply
from bot.events.model import Channel
from bot.testing.runner import CALLER_ACTIONS, REPLY_LINES, Runner
from bot.testing.transcript import Send
from bot.twiml.render import CONTENT_TYPE
from bot.web.app import runtime_of
from storage.records import Purpose

__all__ = ["proactive", "text"]


async def text(runner: Runner, step: Send) -> Reply:
    """``[text "  exact text "]``: send the argument verbatim, white space included."""
    if runner.phone is None or len(step.args) != 1:
        raise runner.fail(step, 'use [text "the exact text"] (one quoted argument)')
    return await runner.phone.send(step.args[0])


async def proactive(runner: Runner, step: Send) -> Reply:
    """``[proactive KIND words…]``: what the gate lets us send the caller now."""
    if runner.harness is None or runner.harness.app is None or len(step.args) < 2:
        raise runner.fail(step, "use [proactive KIND the message text] (KIND - for none)")
    kind, body = step.args[0], " ".join(step.args[1:])
    prefix = "whatsapp:" if runner.channel is Channel.WHATSAPP else ""
    outgoing = Outgoing(
        runner.channel, prefix + runner.ours, prefix + runner.caller, body,
        template=None if kind == "-" else kind, purpose=Purpose.SEND,
    )  # fmt: skip
    verdict = await runtime_of(runner.harness.app).engine.gate.admit(outgoing, runner.clock.now())
    sent = verdict.outgoing
    if not verdict.allowed:
        node = f"<Refused>{escape(verdict.reason or '')}</Refused>"
    elif sent.content_sid:
        variables = escape(json.dumps(dict(sent.content_variables or {}), sort_keys=True))
        node = f'<Template sid="{sent.content_sid}">{variables}</Template>'
    else:
        node = f"<Message>{escape(sent.body)}</Message>"
    return Reply(200, f"<Response>{node}</Response>", CONTENT_TYPE)


CALLER_ACTIONS["text"] = text
CALLER_ACTIONS["proactive"] = proactive
REPLY_LINES["Template"] = lambda e: [f"[template {e.get('sid')} {e.text or ''}]"]
REPLY_LINES["Refused"] = lambda e: [f"[refused {e.text or ''}]"]
