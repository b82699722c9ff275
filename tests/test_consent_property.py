"""Property: over random interleavings, nothing reaches an opted-out person and no free-form
WhatsApp message goes outside the 24-hour window.

Each example runs the real app (signed webhooks, SQLite, fake clock; two flows) and the gate, and
keeps an independent model of who is opted out in which scope and when each WhatsApp window
was last opened. Every TwiML reply and every gated REST-style send is checked against it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import Channel, Flow, Router, T, Turn
from bot.compliance.config import Compliance, Keywords, NumberPolicy, Template
from bot.compliance.consent import Keyword, keyword_of, set_consent
from bot.compliance.gate import Outgoing
from bot.compliance.revocation import Revocation
from bot.compliance.window import window_key
from bot.dev.reply import Reply
from bot.testing import Harness
from bot.twiml.messaging import Message
from flows.support import SupportFlow
from storage.records import Purpose

PEOPLE = ["+15550001111", "+15550002222", "+15550003333"]
SERVICE = "MG" + "5" * 32
NUMBERS = ["+15550100000", "+15550100001", "+15550100002"]  # the last two share a service
TEMPLATE = Template("HX" + "c" * 32, {"1": "there"})
SHARED = NumberPolicy(service=SERVICE, templates={"reminder": TEMPLATE})
COMPLIANCE = Compliance(
    NumberPolicy(templates={"reminder": TEMPLATE}),
    numbers={NUMBERS[1]: SHARED, NUMBERS[2]: SHARED},
)
TEXTS = COMPLIANCE.default.texts
WORDS = ["hi", "hello", "STOP", "stop.", " Stop ", "stop please", "START", "yes", "HELP",
         "info", "unsubscribe", "UNSTOP", "tell 0", "tell 1", "tell 2", "1", "2",
         "menu"]  # fmt: skip


class Chatty(Flow):
    """Answers everything, and on "tell N" also messages person N on the same channel."""

    name = "chatty"
    initial = "idle"
    states = ["idle"]
    transitions = [T("message", "idle", None, after="answer")]

    def on_enter_idle(self, turn: Turn) -> None:
        turn.say("welcome")

    def answer(self, turn: Turn) -> None:
        if turn.text.startswith("tell "):
            prefix = "whatsapp:" if turn.channel is Channel.WHATSAPP else ""
            turn.reply(Message("news", to=prefix + PEOPLE[int(turn.text[5:])]))
        turn.say(f"echo {turn.text}")


@dataclass
class Model:
    """Who is opted out where, and when each WhatsApp window opened (independent of the app)."""

    out: set[tuple[str, str]] = field(default_factory=set)
    windows: dict[str, datetime | None] = field(default_factory=dict)

    def opted_out(self, number: str, person: str) -> bool:
        return (COMPLIANCE.scope(number), person) in self.out

    def window_open(self, number: str, person: str, now: datetime) -> bool:
        last = self.windows.get(window_key("whatsapp:" + number, "whatsapp:" + person))
        return last is not None and now < last + timedelta(hours=24)

    def inbound(self, number: str, person: str, channel: Channel, text: str, at: datetime) -> None:
        scope = (COMPLIANCE.scope(number), person)
        word = keyword_of(text, Keywords(), Revocation.PHRASES)
        if word is Keyword.OPT_OUT:
            self.out.add(scope)
        elif word is Keyword.OPT_IN:
            self.out.discard(scope)
        if channel is Channel.WHATSAPP:
            self.windows[window_key("whatsapp:" + number, "whatsapp:" + person)] = at


people = st.integers(0, len(PEOPLE) - 1)
numbers = st.integers(0, len(NUMBERS) - 1)
channels = st.sampled_from([Channel.SMS, Channel.WHATSAPP])
ops = st.one_of(
    st.tuples(st.just("msg"), people, numbers, channels, st.sampled_from(WORDS)),
    st.tuples(st.just("clock"), st.sampled_from([1, 5, 23, 25, 49])),
    st.tuples(st.just("send"), people, numbers, channels, st.sampled_from([None, "reminder"])),
    st.tuples(st.just("21610"), people, numbers),
    st.tuples(st.just("63016"), people, numbers),
    st.tuples(st.just("operator"), people, numbers, st.booleans()),
)


def check_reply(model: Model, reply: Reply, number: str, sender: str, channel: Channel,
                now: datetime) -> None:  # fmt: skip
    assert reply.status == 200, reply.body
    for element in reply.root.iter("Message"):
        to = element.get("to") or sender
        person = to.removeprefix("whatsapp:")
        body = element.text or ""
        if model.opted_out(number, person):
            assert person == sender and body in (TEXTS.opted_out, TEXTS.help), (to, body)
        if channel is Channel.WHATSAPP:
            assert model.window_open(number, person, now), f"free-form to {to} outside window"


async def play(steps: list[tuple[object, ...]]) -> None:
    model = Model()
    router = Router(default="chatty")
    router.add(NUMBERS[2], "support")  # a second flow, with states, on one number
    async with Harness.of([Chatty, SupportFlow], router, COMPLIANCE) as h:
        gate = h.engine.gate
        for step in steps:
            now = h.clock.now()
            kind = step[0]
            if kind == "clock":
                h.clock.advance(timedelta(hours=step[1]))  # type: ignore[arg-type]
                continue
            who, where = step[1], step[2]
            assert isinstance(who, int) and isinstance(where, int)
            person, number = PEOPLE[who], NUMBERS[where]
            if kind == "msg":
                channel, text = step[3], step[4]
                assert isinstance(channel, Channel) and isinstance(text, str)
                reply = await h.phone(person, number, channel).send(text)
                was_out = model.opted_out(number, person)
                model.inbound(number, person, channel, text, now)
                check_reply(model, reply, number, person, channel, now)
                word = keyword_of(text, Keywords(), Revocation.PHRASES)
                if was_out and word is not Keyword.HELP and word is not Keyword.OPT_IN:
                    assert reply.messages == [], (text, reply.messages)  # heard, not answered
                if TEXTS.opted_out in reply.messages:
                    assert word is Keyword.OPT_OUT and not was_out
            elif kind == "send":
                channel, kind_ = step[3], step[4]
                assert isinstance(channel, Channel)
                prefix = "whatsapp:" if channel is Channel.WHATSAPP else ""
                outgoing = Outgoing(
                    channel, prefix + number, prefix + person, "free text",
                    template=kind_, purpose=Purpose.TIMER,  # type: ignore[arg-type]
                )  # fmt: skip
                verdict = await gate.admit(outgoing, now)
                expect = not model.opted_out(number, person) and (
                    channel is Channel.SMS
                    or model.window_open(number, person, now)
                    or kind_ == "reminder"
                )
                assert verdict.allowed is expect, (step, verdict)
                sent = verdict.outgoing
                if verdict.allowed and channel is Channel.WHATSAPP and sent.free_form:
                    assert model.window_open(number, person, now)
                if verdict.allowed and not sent.free_form:
                    assert (sent.body, sent.content_sid) == ("", TEMPLATE.content_sid)
            elif kind == "21610":
                await gate.carrier_opt_out(number, person, now)
                model.out.add((COMPLIANCE.scope(number), person))
            elif kind == "63016":
                await gate.window_error("whatsapp:" + number, "whatsapp:" + person, now)
                model.windows[window_key("whatsapp:" + number, "whatsapp:" + person)] = None
            else:
                opted_in = bool(step[3])
                await set_consent(
                    gate.store, gate.compliance, number, person, opted_in, now, source="operator"
                )
                scope = (COMPLIANCE.scope(number), person)
                (model.out.discard if opted_in else model.out.add)(scope)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, min_size=1, max_size=40))
def test_no_message_to_the_opted_out_and_no_free_form_outside_the_window(
    steps: list[tuple[object, ...]],
) -> None:
    asyncio.run(play(steps))
