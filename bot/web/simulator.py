"""The console's simulated phone (dev mode only): a text from any number to any routed
number, run through the engine exactly as a webhook would be, and the replies it got."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any

from bot.admin import OperatorError
from bot.engine.engine import Engine
from bot.errors import BadRequest, RoutingError
from bot.events.keys import key_for
from bot.events.model import Params
from bot.events.parse import parse_inbound

__all__ = ["simulate"]


def _address(number: str, channel: str) -> str:
    return f"whatsapp:{number}" if channel == "whatsapp" else number


async def simulate(engine: Engine, body: dict[str, Any]) -> dict[str, Any]:
    """Text ``body["text"]`` from ``body["from"]`` to ``body["to"]`` on ``body["channel"]``
    (sms or whatsapp); returns the replies and the conversation's key."""
    channel = str(body.get("channel") or "sms")
    if channel not in {"sms", "whatsapp"}:
        raise OperatorError("the simulated phone texts on sms or whatsapp")
    sender, to = str(body.get("from") or ""), str(body.get("to") or "")
    if not sender.startswith("+") or not to.startswith("+"):
        raise OperatorError("from and to must be numbers like +15550001111")
    sid = "SM" + uuid.uuid4().hex
    params = Params([
        ("MessageSid", sid), ("SmsSid", sid), ("AccountSid", "AC" + "0" * 32),
        ("From", _address(sender, channel)), ("To", _address(to, channel)),
        ("Body", str(body.get("text") or "")), ("NumMedia", "0"),
    ])  # fmt: skip
    try:
        event = parse_inbound(params)
        twiml = await engine.handle(event)
    except (BadRequest, RoutingError) as exc:
        raise OperatorError(str(exc)) from exc
    messages = ET.fromstring(twiml).iter("Message")
    replies = [(m.text or "") + "".join(b.text or "" for b in m.iter("Body")) for m in messages]
    return {"key": key_for(event).id, "replies": replies}
