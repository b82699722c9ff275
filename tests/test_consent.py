"""Consent keywords as global transitions in the engine, through the real app."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot import Channel, Flow, Router, T, Turn
from bot.compliance.config import SPANISH, Compliance, Keywords, NumberPolicy, Texts, normalise
from bot.compliance.consent import Keyword, keyword_of
from bot.testing import Harness
from flows import EXAMPLE_FLOWS, example_router
from flows.support import MENU

KEY = "sms:+15550100000:+15550001111"
TEXTS = Texts()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Keyword.OPT_OUT),
        ("stop", Keyword.OPT_OUT),
        (" Stop ", Keyword.OPT_OUT),
        ("\tSTOP\n", Keyword.OPT_OUT),
        ("STOP.", Keyword.OPT_OUT),
        ("stop!!", Keyword.OPT_OUT),
        ("ＳＴＯＰ", Keyword.OPT_OUT),  # full-width letters (NFKC)
        ("StopAll", Keyword.OPT_OUT),
        ("unsubscribe", Keyword.OPT_OUT),
        ("cancel", Keyword.OPT_OUT),
        ("END", Keyword.OPT_OUT),
        ("quit", Keyword.OPT_OUT),
        ("revoke", Keyword.OPT_OUT),
        ("optout", Keyword.OPT_OUT),
        ("start", Keyword.OPT_IN),
        ("Yes", Keyword.OPT_IN),
        ("UNSTOP", Keyword.OPT_IN),
        ("help", Keyword.HELP),
        ("INFO?", Keyword.HELP),
        ("stop please", None),
        ("please stop", None),
        ("s.t.o.p", None),
        ("stopp", None),
        ("", None),
        ("...", None),
    ],
)
def test_keywords_are_whole_messages(text: str, expected: Keyword | None) -> None:
    assert keyword_of(text, Keywords()) is expected


def test_keyword_sets_take_extra_languages_and_refuse_overlaps() -> None:
    both = Keywords().plus(SPANISH)
    assert keyword_of("¡ALTO!", both) is Keyword.OPT_OUT
    assert keyword_of("Ayuda", both) is Keyword.HELP
    assert keyword_of("alto", Keywords()) is None
    assert normalise("  ¿Ayuda?  ") == "ayuda"
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="more than one set"):
        Keywords(opt_out=frozenset({"stop"}), opt_in=frozenset({"STOP"}))
    with pytest.raises(ConfigError, match="list of words"):
        Keywords(opt_out="stop")  # type: ignore[arg-type]


def support(**kwargs: object) -> Harness:
    return Harness.of(EXAMPLE_FLOWS, example_router(), **kwargs)  # type: ignore[arg-type]


async def test_stop_mid_flow_then_silence_then_start_resumes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with support() as h:
        phone = h.phone("+15550001111")
        assert (await phone.send("hi")).messages == [MENU]
        await phone.send("2")
        assert (await phone.send("STOP")).messages == [TEXTS.opted_out]
        with caplog.at_level(logging.INFO, logger="switchboard.compliance"):
            assert (await phone.send("A1001")).messages == []  # logged, not answered
            assert (await phone.send("menu")).messages == []
        said = [r.getMessage() for r in caplog.records if r.name == "switchboard.compliance"]
        assert len(said) == 2  # the server log says why too, not only the message log
        assert all(f"in {KEY} not passed to the flow: +15550001111 has opted out" in m
                   for m in said)  # fmt: skip
        assert (await phone.send("help")).messages == [TEXTS.help]
        stored = await h.store.conversation(KEY)
        assert stored is not None and stored.state == "order_lookup"
        assert (await phone.send("start")).messages == [TEXTS.opted_in]
        assert (await phone.send("A1001")).messages == ["Order A1001 is shipped on Monday.", MENU]
        log = await h.store.log(KEY)
        inbound = [(e.body, e.meta) for e in log if e.direction == "in"]
        assert inbound[2:7] == [
            ("STOP", {"keyword": "opt_out"}),
            ("A1001", {"suppressed": "opted_out"}),
            ("menu", {"suppressed": "opted_out"}),
            ("help", {"keyword": "help"}),
            ("start", {"keyword": "opt_in"}),
        ]
        history = await h.store.consent_history("+15550001111")
        assert [(c.status, c.source, c.scope) for c in history] == [
            ("opted_out", "keyword", "+15550100000"),
            ("opted_in", "keyword", "+15550100000"),
        ]
        assert history[0].detail.startswith("'STOP', SM")


async def test_yes_from_a_subscribed_person_is_plain_text_for_the_flow() -> None:
    async with support() as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        await phone.send("1")
        reply = await phone.send("yes")
        assert reply.messages[0].startswith("Thanks! Your question is ticket #1")
        assert await h.store.consent_history("+15550001111") == []


async def test_a_repeated_stop_is_neither_answered_nor_recorded_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with support() as h:
        phone = h.phone("+15550001111")
        assert (await phone.send("stop")).messages == [TEXTS.opted_out]
        with caplog.at_level(logging.INFO, logger="switchboard.compliance"):
            assert (await phone.send("STOP")).messages == []
        [said] = [r.getMessage() for r in caplog.records if r.name == "switchboard.compliance"]
        assert f"in {KEY} not answered: +15550001111 had opted out already" in said
        assert len(await h.store.consent_history("+15550001111")) == 1
        # STOP as a first message creates no conversation
        assert await h.store.conversation(KEY) is None


async def test_advanced_opt_out_already_answered() -> None:
    async with support() as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        reply = await phone.send("ARRET", extra=[("OptOutType", "STOP")])
        assert reply.messages == []
        assert (await phone.send("hello")).messages == []
        assert (await phone.send("help", extra=[("OptOutType", "HELP")])).messages == []
        assert (await phone.send("start", extra=[("OptOutType", "START")])).messages == []
        history = await h.store.consent_history("+15550001111")
        assert [c.status for c in history] == ["opted_out", "opted_in"]
        assert "Advanced Opt-Out" in history[0].detail


class Restarting(Flow):
    name = "restarting"
    initial = "one"
    states = ["one", "two"]
    on_opt_in = "restart"
    transitions = [T("message", "one", "two")]

    def on_enter_one(self, turn: Turn) -> None:
        turn.data["visits"] = turn.data.get("visits", 0) + 1
        turn.say("welcome")

    def on_enter_two(self, turn: Turn) -> None:
        turn.say("step two")


async def test_start_restarts_a_flow_that_asks_for_it() -> None:
    async with Harness.of([Restarting], Router(default="restarting")) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        await phone.send("go")
        await phone.send("stop")
        assert (await phone.send("start")).messages == [TEXTS.opted_in, "welcome"]
        stored = await h.store.conversation(KEY)
        assert stored is not None and (stored.state, stored.data) == ("one", {"visits": 1})


def test_on_opt_in_is_validated() -> None:
    from bot.errors import FlowDefinitionError
    from bot.flow.definition import compile_flow

    bad = type("Bad", (Restarting,), {"on_opt_in": "rewind"})
    with pytest.raises(FlowDefinitionError, match="on_opt_in"):
        compile_flow(bad)


async def test_keywords_and_texts_per_number() -> None:
    spanish = NumberPolicy(
        keywords=Keywords().plus(SPANISH),
        texts=Texts(opted_out="Baja confirmada.", opted_in="Alta.", help="Ayuda: ..."),
    )
    compliance = Compliance(numbers={"+15550100009": spanish})
    async with support(compliance=compliance) as h:
        es = h.phone("+15550001111", to="+15550100009")
        en = h.phone("+15550001111")
        assert (await es.send("Ayuda")).messages == ["Ayuda: ..."]
        assert (await es.send("ALTO")).messages == ["Baja confirmada."]
        assert (await en.send("alto")).messages == [MENU]  # not a keyword there
        # the opt-out was from the other number's scope: this one still answers
        assert (await en.send("hi")).messages == ["Sorry, I didn't get that.", MENU]
        assert (await es.send("hola")).messages == []


class Notifier(Flow):
    """Replies, and tells someone else on request (a <Message to=...>)."""

    name = "notifier"
    initial = "idle"
    states = ["idle"]
    transitions = [
        T("message", "idle", None, after="answer"),
        T("window_closed", "idle", None, after="closed"),
    ]

    def answer(self, turn: Turn) -> None:
        from bot.twiml.messaging import Message

        if turn.text.startswith("tell "):
            turn.reply(Message("news for you", to=turn.text.removeprefix("tell ")))
        turn.say("ok")

    def closed(self, turn: Turn) -> None:
        turn.say("they have not written in 24 hours; I could not tell them")


async def test_replies_to_someone_else_pass_the_gate_too(caplog: pytest.LogCaptureFixture) -> None:
    async with Harness.of([Notifier], Router(default="notifier")) as h:
        alice, bob = h.phone("+15550001111"), h.phone("+15550002222")
        await bob.send("stop")
        await alice.send("hi")  # the first message only enters the flow
        with caplog.at_level(logging.INFO, logger="switchboard.engine"):
            reply = await alice.send("tell +15550002222")
        said = [r.getMessage() for r in caplog.records if r.name == "switchboard.engine"]
        assert any(f"reply to +15550002222 in {KEY} not sent: opted_out" in m for m in said)
        assert reply.messages == ["ok"]  # the message to Bob was refused
        log = await h.store.log(KEY)
        refused = [e for e in log if e.kind == "refused"]
        assert [(e.body, e.meta["reason"], e.meta["to"]) for e in refused] == [
            ("news for you", "opted_out", "+15550002222")
        ]
        carol = "+15550003333"
        reply = await alice.send(f"tell {carol}")
        assert reply.messages == ["news for you", "ok"]


async def test_window_closed_is_a_global_event_a_flow_may_handle() -> None:
    async with Harness.of([Notifier], Router(default="notifier")) as h:
        alice = h.phone("+15550001111", channel=Channel.WHATSAPP)
        bob = h.phone("+15550002222", channel=Channel.WHATSAPP)
        await bob.send("hi")
        await alice.send("hi")
        assert (await alice.send("tell whatsapp:+15550002222")).messages == ["news for you", "ok"]
        h.clock.advance(timedelta(hours=25))
        reply = await alice.send("tell whatsapp:+15550002222")
        assert reply.messages == ["ok", "they have not written in 24 hours; I could not tell them"]


async def test_a_whatsapp_message_to_from_an_sms_thread_keeps_to_the_window() -> None:
    """Regression (guarantees under attack, 2026-11-24): a ``<Message to="whatsapp:+1…">``
    in an SMS conversation was screened as SMS, so free-form WhatsApp text went out to
    someone whose window had closed."""
    async with Harness.of([Notifier], Router(default="notifier")) as h:
        alice = h.phone("+15550001111")  # on SMS
        bob = h.phone("+15550002222", channel=Channel.WHATSAPP)
        await bob.send("hi")
        await alice.send("hi")
        assert (await alice.send("tell whatsapp:+15550002222")).messages == ["news for you", "ok"]
        h.clock.advance(timedelta(hours=25))
        reply = await alice.send("tell whatsapp:+15550002222")
        assert reply.messages == ["ok", "they have not written in 24 hours; I could not tell them"]
        refused = [e for e in await h.store.log(KEY) if e.kind == "refused"]
        assert [(e.meta["reason"], e.meta["to"]) for e in refused] == [
            ("window_closed", "whatsapp:+15550002222")
        ]


async def test_a_message_to_a_channel_we_do_not_handle_is_never_sent() -> None:
    async with Harness.of([Notifier], Router(default="notifier")) as h:
        alice = h.phone("+15550001111")
        await alice.send("hi")
        assert (await alice.send("tell messenger:1234")).messages == ["ok"]
        refused = [e for e in await h.store.log(KEY) if e.kind == "refused"]
        assert [e.meta["reason"] for e in refused] == ["unknown"]


def test_the_documented_configuration_loads(tmp_path: object) -> None:
    import json
    import re
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "compliance.md").read_text()
    raw = json.loads(re.search(r"```json\n(.*?)```", doc, re.DOTALL).group(1))  # type: ignore[union-attr]
    loaded = Compliance.from_dict(raw)
    spanish = loaded.policy("whatsapp:+15550100009")
    assert keyword_of("alto", spanish.keywords) is Keyword.OPT_OUT
    assert keyword_of("yes", spanish.keywords) is None  # opt_in replaced
    assert spanish.texts.help.startswith("Acme Support")  # inherited from default
    assert set(spanish.templates) == {"reminder"}
    assert loaded.scope("+15550100009") == "MG0123456789abcdef0123456789abcdef"
    assert loaded.scope("+15550100000") == "+15550100000"
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="ContentSid"):
        Compliance.from_dict({"default": {"templates": {"x": {"content_sid": "nope"}}}})
    with pytest.raises(ConfigError, match="language"):
        Compliance.from_dict({"default": {"keywords": {"languages": ["xx"]}}})
    with pytest.raises(ConfigError, match="malformed"):
        Compliance.from_dict({"default": {"texts": {"nonsense": "x"}}})


async def test_a_retried_stop_webhook_is_recorded_once() -> None:
    async with support() as h:
        phone = h.phone("+15550001111")
        first = await phone.send("STOP", sid="SM" + "9" * 32)
        again = await phone.send("STOP", sid="SM" + "9" * 32)
        assert first.body == again.body and first.messages == [TEXTS.opted_out]
        assert len(await h.store.consent_history("+15550001111")) == 1
        assert len(await h.store.log(KEY)) == 2  # one inbound, one answer


async def test_an_exported_consent_conversation_replays_and_shows_refusals() -> None:
    from bot.export.transcript import to_transcript
    from bot.testing.runner import Runner
    from bot.testing.transcript import parse
    from flows import build

    async with Harness(build) as h:
        phone = h.phone("+15550001111")
        for text in ("hi", "2", "STOP", "A1001", "HELP", "START", "A1001"):
            await phone.send(text)
        stored = await h.store.conversation(KEY)
        assert stored is not None
        text = to_transcript(stored, await h.store.log(KEY))
    assert "> A1001\n< (no reply)\n> HELP" in text
    await Runner(parse(text, "exported"), build).run()

    async with Harness.of([Notifier], Router(default="notifier")) as h:
        await h.phone("+15550002222").send("stop")
        alice = h.phone("+15550001111")
        await alice.send("hi")
        await alice.send("tell +15550002222")
        stored = await h.store.conversation(KEY)
        assert stored is not None
        text = to_transcript(stored, await h.store.log(KEY))
    assert "< ok\n# not sent (opted_out, to +15550002222): news for you\n" in text


class Escalating(Flow):
    """Moves to `stuck` when a reply to someone else cannot go out; or raises doing so."""

    name = "escalating"
    initial = "idle"
    states = ["idle", "stuck"]
    transitions = [
        T("message", "idle", None, after="relay"),
        T("window_closed", "idle", "stuck", before="note"),
        T("message", "stuck", None, after="still_stuck"),
    ]

    def relay(self, turn: Turn) -> None:
        from bot.twiml.messaging import Message

        turn.reply(Message(turn.text, to="whatsapp:+15550002222"))

    def note(self, turn: Turn) -> None:
        turn.data["undelivered"] = turn.data.get("undelivered", 0) + 1
        if turn.text == "explode":
            raise RuntimeError("window_closed handler failed")
        turn.say("could not relay; an agent will follow up")

    def still_stuck(self, turn: Turn) -> None:
        turn.say("still stuck")


async def test_window_closed_may_change_state_and_its_errors_roll_back() -> None:
    async with Harness.of([Escalating], Router(default="escalating")) as h:
        alice = h.phone("+15550001111", channel=Channel.WHATSAPP)
        await alice.send("hi")
        assert (await alice.send("explode")).messages == []  # handler raised: dropped
        wa_key = "whatsapp:+15550100000:+15550001111"
        stored = await h.store.conversation(wa_key)
        assert stored is not None and (stored.state, stored.data) == ("idle", {})
        reply = await alice.send("please relay")
        assert reply.messages == ["could not relay; an agent will follow up"]
        stored = await h.store.conversation(wa_key)
        assert stored is not None and (stored.state, stored.data) == ("stuck", {"undelivered": 1})
        assert (await alice.send("hello?")).messages == ["still stuck"]


async def test_a_message_action_of_unknown_shape_is_never_sent() -> None:
    from dataclasses import dataclass

    from bot.twiml.render import Node

    @dataclass(frozen=True)
    class Sneaky:
        def node(self) -> Node:
            return Node("Message", {"to": "+15550002222"}, "psst")

        def summary(self) -> str:
            return "psst"

    class Sneaking(Flow):
        name = "sneaking"
        initial = "idle"
        states = ["idle"]
        transitions = [T("message", "idle", None, after="sneak")]

        def sneak(self, turn: Turn) -> None:
            turn.reply(Sneaky())
            turn.say("visible")

    async with Harness.of([Sneaking], Router(default="sneaking")) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        assert (await phone.send("go")).messages == ["visible"]
        refused = [e for e in await h.store.log(KEY) if e.kind == "refused"]
        assert [(e.body, e.meta["reason"]) for e in refused] == [("psst", "unknown")]


async def test_the_app_reads_a_compliance_file_named_in_the_environment(tmp_path: object) -> None:
    from pathlib import Path

    from bot import Settings
    from bot.errors import ConfigError
    from bot.web.app import create_app, runtime_of
    from storage.sqlite import SQLiteStore

    assert isinstance(tmp_path, Path)
    path = tmp_path / "compliance.json"
    path.write_text('{"default": {"texts": {"help": "Acme: 555-0100"}}}')
    settings = Settings.from_env(
        {"TWILIO_AUTH_TOKEN": "t", "SWITCHBOARD_COMPLIANCE_FILE": str(path)}
    )
    app = create_app(EXAMPLE_FLOWS, example_router(), settings, store=SQLiteStore(":memory:"))
    assert runtime_of(app).engine.gate.compliance.default.texts.help == "Acme: 555-0100"
    missing = Settings(auth_token="t", compliance_file=str(tmp_path / "nope.json"))
    with pytest.raises(ConfigError, match=r"nope\.json"):
        create_app(EXAMPLE_FLOWS, example_router(), missing)


@pytest.mark.parametrize(
    "text", ["STOP\u200b", "\ufeffSTOP", "STOP\u200f", "\u200eSTOP", "S\u00adTOP"]
)
def test_invisible_format_characters_do_not_hide_a_keyword(text: str) -> None:
    from bot.compliance.config import Keywords
    from bot.compliance.consent import keyword_of

    assert keyword_of(text, Keywords()) is not None
