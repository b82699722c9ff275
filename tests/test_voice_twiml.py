"""Voice verbs render the bytes ``twilio.twiml.voice_response`` writes, and every reply the
example voice flows can produce is valid TwiML (nesting and attributes)."""

from __future__ import annotations

import asyncio
import inspect
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from twilio.twiml import TwiML, lower_camel
from twilio.twiml.voice_response import Gather as TwilioGather
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.datastructures import MultiDict

from bot.dev.harness import Harness
from bot.dev.reply import Reply
from bot.engine.engine import Engine, apology_actions
from bot.events.model import Channel
from bot.events.voice import parse_voice
from bot.flow.definition import CompiledFlow
from bot.testing.runner import Runner
from bot.testing.transcript import parse
from bot.twiml.render import render
from bot.twiml.voice import Dial, Gather, Hangup, Pause, Play, Record, Redirect, Reject, Say
from bot.voice.answer import CallAnswerer
from flows import EXAMPLE_FLOWS, build

TRANSCRIPTS = Path(__file__).parent / "transcripts"
URL = "https://hooks.example.com/twilio?step=3&on=gather"

# -- the checker: rebuild a document with twilio.twiml.voice_response ----------------------


class TwiMLInvalid(AssertionError):
    """The document nests or names something the twilio library does not allow."""


def _method(parent: TwiML, tag: str) -> tuple[object, dict[str, str], bool]:
    cls = type(parent)
    name = tag[0].lower() + tag[1:]
    method = getattr(cls, name, None)
    if method is None or not method.__qualname__.startswith(cls.__name__ + "."):
        raise TwiMLInvalid(f"<{tag}> cannot be nested in <{parent.name}>")
    params = [p for p in inspect.signature(method).parameters.values()
              if p.name != "self" and p.kind is not p.VAR_KEYWORD]  # fmt: skip
    attrs = {lower_camel(TwiML.MAP.get(p.name, p.name)): p.name for p in params}
    first = params[0].name if params else ""
    takes_text = first in {"message", "url", "number", "name"}
    return method, attrs, takes_text


def _rebuild(element: ET.Element, parent: TwiML) -> None:
    for child in element:
        method, attrs, takes_text = _method(parent, child.tag)
        kwargs = {}
        for attr, value in child.attrib.items():
            if attr not in attrs:
                raise TwiMLInvalid(f"<{child.tag}> has no attribute {attr!r}")
            kwargs[attrs[attr]] = value
        text = (child.text or "").strip()
        if text and not takes_text:
            raise TwiMLInvalid(f"<{child.tag}> takes no text, got {text!r}")
        node = method(parent, text, **kwargs) if takes_text else method(parent, **kwargs)  # type: ignore[operator]
        _rebuild(child, node)


def check_voice_twiml(body: str) -> None:
    """Raise :class:`TwiMLInvalid` unless ``body`` is a valid voice document, byte for byte."""
    root = ET.fromstring(body)
    if root.tag != "Response":
        raise TwiMLInvalid(f"the root is <{root.tag}>, not <Response>")
    rebuilt = VoiceResponse()
    _rebuild(root, rebuilt)
    if rebuilt.to_xml() != body:
        raise TwiMLInvalid(f"bytes differ:\n ours:   {body}\n twilio: {rebuilt.to_xml()}")


# -- tests -------------------------------------------------------------------------------


def test_say_play_pause_match_twilio() -> None:
    say = Say("Hi & <bye>", "Polly.Joanna", "en-GB", 2)
    play = Play("https://x.test/a.mp3?a=1&b=2", loop=0)
    ours = render([say.node(), play.node(), Pause(3).node()])
    twilio = VoiceResponse()
    twilio.say("Hi & <bye>", voice="Polly.Joanna", language="en-GB", loop=2)
    twilio.play("https://x.test/a.mp3?a=1&b=2", loop=0)
    twilio.pause(length=3)
    assert ours == twilio.to_xml()


def test_gather_with_nested_prompts_matches_twilio() -> None:
    gather = Gather(URL, (Say("Press 1"), Pause(1), Play("https://x.test/b.wav")),
                    "dtmf speech", 1, "#", 5, "auto", ("billing", "support"), "en-US")  # fmt: skip
    twilio = VoiceResponse()
    nested: TwilioGather = twilio.gather(
        input="dtmf speech", action=URL, method="POST", timeout=5, speech_timeout="auto",
        finish_on_key="#", num_digits=1, language="en-US", hints="billing, support",
        action_on_empty_result=True,
    )  # fmt: skip
    nested.say("Press 1")
    nested.pause(length=1)
    nested.play("https://x.test/b.wav")
    assert render([gather.node()]) == twilio.to_xml()


def test_record_dial_redirect_hangup_reject_match_twilio() -> None:
    status = "https://hooks.example.com/twilio/status"
    ours = render([
        Record(URL, status, 120, "#", True, 5, transcribe=True).node(),
        Dial("+15550102001", URL, "+15550100000", 20, 600).node(),
        Redirect(URL).node(), Hangup().node(), Reject("busy").node(),
    ])  # fmt: skip
    twilio = VoiceResponse()
    twilio.record(action=URL, method="POST", timeout=5, finish_on_key="#", max_length=120,
                  play_beep=True, recording_status_callback=status,
                  recording_status_callback_method="POST", transcribe=True,
                  transcribe_callback=status)  # fmt: skip
    twilio.dial("+15550102001", action=URL, method="POST", timeout=20, time_limit=600,
                caller_id="+15550100000")  # fmt: skip
    twilio.redirect(URL, method="POST")
    twilio.hangup()
    twilio.reject(reason="busy")
    assert ours == twilio.to_xml()


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda: Gather(URL, input="keys"), "input"),
        (lambda: Gather(URL, finish_on_key="x"), "finishOnKey"),
        (lambda: Gather(URL, num_digits=0), "numDigits"),
        (lambda: Gather(URL, speech_timeout="soon"), "speechTimeout"),
        (lambda: Say("  "), "text"),
        (lambda: Play("ftp://x/a.mp3"), "http"),
        (lambda: Reject("nope"), "reason"),
        (lambda: Dial(" ", URL), "number"),
        (lambda: Pause(0), "Pause"),
    ],
)
def test_verbs_refuse_bad_attributes(make: Any, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        make()


def test_the_checker_refuses_bad_nesting_and_attributes() -> None:
    decl = '<?xml version="1.0" encoding="UTF-8"?>'
    with pytest.raises(TwiMLInvalid, match="cannot be nested"):
        check_voice_twiml(decl + "<Response><Gather><Dial>+1555</Dial></Gather></Response>")
    with pytest.raises(TwiMLInvalid, match="no attribute"):
        check_voice_twiml(decl + '<Response><Say colour="red">hi</Say></Response>')
    with pytest.raises(TwiMLInvalid, match="cannot be nested"):
        check_voice_twiml(decl + "<Response><Message>hi</Message></Response>")


def _voice_transcripts() -> list[Path]:
    return sorted(p for p in TRANSCRIPTS.glob("*.transcript") if "channel: voice" in p.read_text())


@dataclass
class Replay:
    """Everything replaying the example voice transcripts produced."""

    bodies: list[str] = field(default_factory=list)
    # (flow, trigger, state before, state after) of every transition that ran
    fired: set[tuple[str, str, str, str]] = field(default_factory=set)


@pytest.fixture(scope="module")
def replay() -> Replay:
    seen = Replay()
    post, fire = Harness.post, CompiledFlow.fire

    async def recording_post(self: Harness, path: str, params: Any, **kw: Any) -> Reply:
        reply = await post(self, path, params, **kw)
        if reply.body.strip():
            seen.bodies.append(reply.body)
        return reply

    async def recording_fire(
        self: CompiledFlow, trigger: str, state: str, turn: Any
    ) -> tuple[bool, str]:
        done, after = await fire(self, trigger, state, turn)
        if done:
            seen.fired.add((self.name, trigger, state, after))
        return done, after

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Harness, "post", recording_post)
        patch.setattr(CompiledFlow, "fire", recording_fire)
        paths = _voice_transcripts()
        assert len(paths) >= 8
        for path in paths:
            asyncio.run(Runner(parse(path.read_text(), str(path)), build).run())
    return seen


def test_every_reply_of_the_example_voice_flows_is_valid_twiml(replay: Replay) -> None:
    apology = apology_actions(Channel.VOICE, "Sorry.")
    bodies = [*replay.bodies, render(a.node() for a in apology)]
    assert len(bodies) > 50
    for body in set(bodies):
        check_voice_twiml(body)


def test_the_transcripts_take_every_transition_of_the_voice_flows(replay: Replay) -> None:
    for flow in EXAMPLE_FLOWS:
        if flow.name not in {"ivr", "speech_menu"}:
            continue
        for spec in flow.transitions:
            sources = spec["source"] if isinstance(spec["source"], list) else [spec["source"]]
            for source in sources:
                dest = source if spec["dest"] in (None, "=") else spec["dest"]
                edge = (flow.name, spec["trigger"], source, dest)
                assert edge in replay.fired, f"no transcript takes {edge}"


def test_the_holding_reply_is_valid_twiml() -> None:
    answerer = CallAnswerer(Engine.__new__(Engine))
    params = MultiDict(
        [("CallSid", "CA" + "1" * 32), ("From", "+15550001111"), ("To", "+15550100000")]
    )
    event = parse_voice(params, {"step": "4", "on": "gather"}, "https://h.test/twilio")
    first = answerer._hold(event)
    check_voice_twiml(first)
    assert "Please hold" in first and "step=4&amp;on=gather&amp;hold=1" in first
