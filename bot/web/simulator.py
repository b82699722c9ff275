"""The console's simulated phone (dev mode only): a text or a call from any number to any
routed number, run through the engine exactly as a webhook would be.

A text is one request and its replies. A call is a sequence of requests the console drives
as Twilio would: the incoming-call webhook, then each ``<Gather>``, ``<Dial>``, ``<Record>``
or ``<Redirect>`` answered at the action URL the TwiML gave, and the status callback
``completed`` when the caller hangs up (or the document ends). Each answer comes back as the
TwiML and its verbs as JSON, which the console plays (``static/phone.js``).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.admin import OperatorError
from bot.engine.engine import Engine
from bot.errors import BadRequest, RoutingError
from bot.events.keys import key_for
from bot.events.model import Params
from bot.events.parse import parse_inbound
from bot.events.voice import DIAL_STATUSES, parse_voice, parse_voice_status

__all__ = ["simulate", "simulate_call", "verbs"]

_ACCOUNT = "AC" + "0" * 32
_CALL_SID = re.compile(r"CA[0-9a-f]{32}")


def _address(number: str, channel: str) -> str:
    return f"whatsapp:{number}" if channel == "whatsapp" else number


def _numbers(body: dict[str, Any]) -> tuple[str, str]:
    sender, to = str(body.get("from") or ""), str(body.get("to") or "")
    if not sender.startswith("+") or not to.startswith("+"):
        raise OperatorError("from and to must be numbers like +15550001111")
    return sender, to


async def simulate(engine: Engine, body: dict[str, Any]) -> dict[str, Any]:
    """Text ``body["text"]`` from ``body["from"]`` to ``body["to"]`` on ``body["channel"]``
    (sms or whatsapp); returns the replies and the conversation's key."""
    channel = str(body.get("channel") or "sms")
    if channel not in {"sms", "whatsapp"}:
        raise OperatorError("the simulated phone texts on sms or whatsapp")
    sender, to = _numbers(body)
    sid = "SM" + uuid.uuid4().hex
    params = Params([
        ("MessageSid", sid), ("SmsSid", sid), ("AccountSid", _ACCOUNT),
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


def verbs(twiml: str) -> list[dict[str, Any]]:
    """The verbs of a TwiML document as JSON: ``verb`` (the tag), ``text``, ``attrs`` and
    ``children`` (a ``<Gather>``'s prompt, a ``<Dial>``'s numbers)."""

    def one(el: ET.Element) -> dict[str, Any]:
        return {"verb": el.tag, "text": (el.text or "").strip(), "attrs": dict(el.attrib),
                "children": [one(child) for child in el]}  # fmt: skip

    return [one(el) for el in ET.fromstring(twiml)]


def _answer(body: dict[str, Any]) -> list[tuple[str, str]]:
    """What the caller did at the verb the console answers: keys, words, a dial's outcome or
    a recording."""
    extra: list[tuple[str, str]] = []
    digits, speech = str(body.get("digits") or ""), str(body.get("speech") or "").strip()
    if digits:
        extra.append(("Digits", digits))
    if speech:
        extra += [("SpeechResult", speech), ("Confidence", "0.9")]
    dial = body.get("dial")
    if dial is not None:
        if dial not in DIAL_STATUSES:
            raise OperatorError(f"dial must be one of {', '.join(sorted(DIAL_STATUSES))}")
        answered = dial == "completed"
        extra += [("DialCallStatus", str(dial)), ("DialCallSid", "CA" + uuid.uuid4().hex),
                  ("DialCallDuration", "30" if answered else "0"),
                  ("DialBridged", "true" if answered else "false")]  # fmt: skip
    seconds = body.get("recording")
    if seconds is not None:
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
            raise OperatorError("recording must be the message's length in whole seconds")
        if seconds:
            url = f"https://api.twilio.com/simulated/Recordings/RE{uuid.uuid4().hex}"
            extra += [("RecordingUrl", url), ("RecordingDuration", str(seconds))]
    return extra


def _query(action: str) -> dict[str, str]:
    """The query of an action URL our TwiML wrote (``step``, ``on``, ``hold``)."""
    query = dict(parse_qsl(urlsplit(action).query))
    if "on" not in query:
        raise OperatorError("action must be a URL from the call's TwiML (it has ?on=...)")
    return query


async def simulate_call(engine: Engine, body: dict[str, Any], webhook: str) -> dict[str, Any]:
    """One request of a simulated call from ``from`` to ``to``: without ``call``, a new call
    rings (the incoming-call webhook); with it, ``action`` (a URL the call's TwiML gave) is
    answered with ``digits``, ``speech``, ``dial`` (a ``<Dial>``'s outcome) or ``recording``
    (seconds recorded), or ``hangup`` sends the status callback ``completed``. Returns the
    call's sid, its conversation's key, the TwiML and its verbs."""
    sender, to = _numbers(body)
    sid = str(body.get("call") or "")
    if sid and not _CALL_SID.fullmatch(sid):
        raise OperatorError("call must be the CallSid this phone was given (CA + 32 hex)")
    status = "completed" if body.get("hangup") else ("in-progress" if sid else "ringing")
    sid = sid or "CA" + uuid.uuid4().hex
    params = [
        ("AccountSid", _ACCOUNT), ("ApiVersion", "2010-04-01"), ("CallSid", sid),
        ("CallStatus", status), ("Called", to), ("Caller", sender), ("Direction", "inbound"),
        ("From", sender), ("To", to),
    ]  # fmt: skip
    try:
        if body.get("hangup"):
            params += [("CallDuration", "30"), ("SequenceNumber", "0"),
                       ("CallbackSource", "call-progress-events")]  # fmt: skip
            event = parse_voice_status(Params(params))
            await engine.handle(event)
            return {"call": sid, "key": key_for(event).id, "twiml": "", "verbs": [], "ended": True}
        action = str(body.get("action") or "")
        query = _query(action) if action else {}
        event = parse_voice(Params(params + _answer(body)), query, webhook)
        twiml = await engine.handle(event)
    except (BadRequest, RoutingError) as exc:
        raise OperatorError(str(exc)) from exc
    return {"call": sid, "key": key_for(event).id, "twiml": twiml, "verbs": verbs(twiml),
            "ended": False}  # fmt: skip
