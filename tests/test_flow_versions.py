"""Issue 14: a conversation crosses a deploy of a changed flow, on SQLite and PostgreSQL.

Each test starts conversations on one version of ``tests.versions.signup`` and continues them
after :meth:`Harness.deploy` swapped in the next version on the same database and clock.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot import Flow, T, Timeout, text_is
from bot.errors import FlowDefinitionError
from bot.flow.definition import compile_flow
from bot.flow.versions import Lost, Migration
from bot.testing import Harness
from storage.records import Conversation, TurnWrite
from tests.versions.signup import (
    Removed,
    SignupV1,
    SignupV2,
    _build,
    build_v1,
    build_v2,
    build_v3,
)

KEY = "sms:+15550100000:+15550001111"
WELCOME_V2 = "Welcome! What's your first name?"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each backend."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


async def _to_ask_mail(h: Harness) -> None:
    phone = h.phone("+15550001111")
    assert (await phone.send("hi")).messages == ["Welcome! What's your name?"]
    assert (await phone.send("Ada Lovelace")).messages == ["Your phone number?"]
    assert (await phone.send("555")).messages == ["Thanks Ada Lovelace. Your e-mail?"]


async def _stored(h: Harness) -> Conversation:
    found = await h.store.conversation(KEY)
    assert found is not None
    return found


async def test_a_renamed_state_with_a_migration_continues_mid_conversation(url: str) -> None:
    async with Harness(build_v1, database_url=url) as h:
        await _to_ask_mail(h)
        before = await _stored(h)
        assert (before.state, before.flow_version) == ("ask_mail", 1)
        await h.deploy(build_v2)
        reply = await h.phone("+15550001111").send("ada@example.com")
        assert reply.messages == ["All set, Ada <ada@example.com>."]
        after = await _stored(h)
        assert (after.state, after.flow_version, after.closed) == ("done", 2, True)
        assert after.data == {"first_name": "Ada", "phone": "555", "email": "ada@example.com"}
        migrated = [e for e in await h.store.log(KEY) if e.kind == "migrated"]
        assert len(migrated) == 1
        assert (migrated[0].state_before, migrated[0].state_after) == ("ask_mail", "ask_email")
        assert migrated[0].meta["from_version"] == 1 and migrated[0].meta["to_version"] == 2


async def test_a_removed_state_mapped_by_the_migration_continues_there(url: str) -> None:
    async with Harness(build_v1, database_url=url) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        await phone.send("Grace Hopper")  # now in ask_phone, which v2 removed
        await h.deploy(build_v2)
        # the message is taken in ask_email, the state the migration maps ask_phone to
        assert (await phone.send("grace@example.com")).messages == [
            "All set, Grace <grace@example.com>."
        ]


async def test_a_chain_of_migrations_takes_a_v1_conversation_to_v3(url: str) -> None:
    async with Harness(build_v1, database_url=url) as h:
        await _to_ask_mail(h)
        await h.deploy(build_v3)
        reply = await h.phone("+15550001111").send("ada@example.com")
        assert reply.messages == ["All set, Ada <ada@example.com>."]
        after = await _stored(h)
        assert (after.state, after.flow_version) == ("done", 3)
        migrated = [e for e in await h.store.log(KEY) if e.kind == "migrated"]
        assert [(e.state_before, e.state_after) for e in migrated] == [("ask_mail", "email")]


@pytest.mark.parametrize("policy", [Lost.RESTART, Lost.CLOSE, Lost.HANDLER])
async def test_a_removed_state_without_a_migration_follows_the_policy_and_is_logged(
    url: str, policy: Lost, caplog: pytest.LogCaptureFixture
) -> None:
    class Careless(Removed):
        on_lost = policy
        lost_message = "We changed things; sorry."

        def place_lost(self, turn: Any, old_state: str) -> str:
            turn.say(f"You were at {old_state}; on to the e-mail.")
            turn.data["first_name"] = turn.data.get("name", "?")
            return "ask_email"

    async with Harness(build_v1, database_url=url) as h:
        await _to_ask_mail(h)
        await h.deploy(_build(Careless))
        with caplog.at_level(logging.WARNING, "switchboard.engine"):
            reply = await h.phone("+15550001111").send("ada@example.com")
        after = await _stored(h)
        if policy is Lost.RESTART:
            assert reply.messages == ["We changed things; sorry.", WELCOME_V2]
            assert (after.state, after.closed, after.data) == ("ask_name", False, {})
        elif policy is Lost.CLOSE:
            assert reply.messages == ["We changed things; sorry."]
            assert after.closed
            assert (await h.phone("+15550001111").send("hello")).messages == [WELCOME_V2]
        else:
            assert reply.messages == ["You were at ask_mail; on to the e-mail."]
            assert (after.state, after.closed) == ("ask_email", False)
            assert after.data["first_name"] == "Ada Lovelace"
        lost = [r.getMessage() for r in caplog.records if "cannot be placed" in r.getMessage()]
        assert len(lost) == 1 and KEY in lost[0] and "'ask_mail'" in lost[0]
        entries = [e for e in await h.store.log(KEY) if e.kind == "lost"]
        assert [(e.state_before, e.meta["policy"]) for e in entries] == [("ask_mail", policy)]


async def test_code_at_an_older_version_refuses_a_migrated_conversation(url: str) -> None:
    async with Harness(build_v1, database_url=url) as h:
        phone = h.phone("+15550001111")
        await phone.send("hi")
        await h.deploy(build_v2)
        await phone.send("Ada")  # stepped (and stamped) by v2
        stepped = await _stored(h)
        await h.deploy(build_v1)  # a v1 instance still running, in a rolling deploy
        reply = await phone.send("ada@example.com")
        assert reply.status == 503
        assert await _stored(h) == stepped  # not stepped backwards
        await h.deploy(build_v2)
        assert (await phone.send("ada@example.com")).messages == ["All set, Ada <ada@example.com>."]


async def _plant(h: Harness, state: str, data: dict[str, Any], flow_version: int = 0) -> None:
    """A conversation as a database written before versions existed holds it."""
    row = Conversation(
        key=KEY, flow="signup", state=state, data=data, version=1, channel="sms",
        ours="+15550100000", theirs="+15550001111", flow_version=flow_version,
    )  # fmt: skip
    assert await h.store.commit(TurnWrite(row, [], [], "", h.clock.now())) is None


async def test_a_row_from_before_versions_is_placed_by_its_state(url: str) -> None:
    async with Harness(build_v2, database_url=url) as h:
        await _plant(h, "ask_email", {"first_name": "Lin"})  # exists in v2: continues as is
        reply = await h.phone("+15550001111").send("lin@example.com")
        assert reply.messages == ["All set, Lin <lin@example.com>."]
        assert (await _stored(h)).flow_version == 2
        assert not [e for e in await h.store.log(KEY) if e.kind in ("migrated", "lost")]


async def test_a_row_from_before_versions_in_a_gone_state_is_migrated(url: str) -> None:
    async with Harness(build_v3, database_url=url) as h:
        await _plant(h, "ask_mail", {"name": "Lin Wu"})
        reply = await h.phone("+15550001111").send("lin@example.com")
        assert reply.messages == ["All set, Lin <lin@example.com>."]


async def test_a_data_upgrade_that_raises_writes_nothing_but_the_log(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(SignupV2):
        migrations = [
            SignupV2.migrations[0].__class__(to=2, renamed={"ask_mail": "ask_email"}, data="boom")
        ]

        def boom(self, data: dict[str, Any]) -> None:
            raise RuntimeError("bad upgrade")

    async with Harness(build_v1, database_url=url) as h:
        await _to_ask_mail(h)
        before = await _stored(h)
        await h.deploy(_build(Broken))
        with caplog.at_level(logging.ERROR, "switchboard.engine"):
            reply = await h.phone("+15550001111").send("ada@example.com")
        assert reply.status == 200 and reply.messages[0].startswith("Sorry")
        assert await _stored(h) == before
        assert any("migrating conversation" in r.getMessage() for r in caplog.records)


async def test_a_step_that_raises_after_a_migration_keeps_the_migration(url: str) -> None:
    class Raises(SignupV2):
        def keep_mail(self, turn: Any) -> None:
            raise RuntimeError("callback bug")

    async with Harness(build_v1, database_url=url) as h:
        await _to_ask_mail(h)
        await h.deploy(_build(Raises))
        reply = await h.phone("+15550001111").send("ada@example.com")
        assert reply.messages[0].startswith("Sorry")
        after = await _stored(h)
        assert (after.state, after.flow_version) == ("ask_email", 2)
        assert after.data == {"first_name": "Ada", "phone": "555"}


def test_versions_are_stamped_and_shapes_differ() -> None:
    v1, v2 = compile_flow(SignupV1), compile_flow(SignupV2)
    assert (v1.version, v2.version) == (1, 2)
    assert v1.shape != v2.shape and len(v1.shape) == 12
    assert compile_flow(SignupV1).shape == v1.shape  # derived from the structure alone


async def test_a_conversation_of_a_removed_flow_restarts_in_the_routed_one_and_is_logged(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from flows import build

    async with Harness(build_v1, database_url=url) as h:
        await _to_ask_mail(h)
        await h.deploy(build)  # the example app: no signup flow any more
        with caplog.at_level(logging.WARNING, "switchboard.engine"):
            reply = await h.phone("+15550001111").send("hello")
        assert reply.status == 200 and (await _stored(h)).flow == "support"
        gone = [r.getMessage() for r in caplog.records if "does not run" in r.getMessage()]
        assert len(gone) == 1 and KEY in gone[0] and "'ask_mail'" in gone[0]
        assert [e.meta["policy"] for e in await h.store.log(KEY) if e.kind == "lost"] == [
            "flow_gone"
        ]


def _flow(**attrs: Any) -> type[Flow]:
    base = {
        "name": "f", "initial": "a", "states": ["a", "b"], "final_states": ["b"],
        "transitions": [T("message", "a", "b")], "version": 3,
    }  # fmt: skip
    return type("F", (Flow,), {**base, **attrs})


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"version": 0}, "version must be a whole number from 1, not 0"),
        ({"version": "2"}, "version must be a whole number from 1"),
        ({"migrations": [Migration(to=4)]}, r"Migration\(to=4\) is outside versions 2..3"),
        ({"migrations": [Migration(to=1)]}, r"Migration\(to=1\) is outside"),
        ({"migrations": [Migration(to=2), Migration(to=2)]}, "two migrations to version 2"),
        ({"migrations": [{"to": 2}]}, "migrations must be Migration"),
        (
            {"migrations": [Migration(to=2, renamed={"x": "y"})]},
            r"Migration\(to=2\) maps state 'x' to 'y', which is not a state",
        ),
        (
            {
                "migrations": [
                    Migration(to=2, renamed={"x": "y"}),
                    Migration(to=3, renamed={"y": "zz"}),
                ]
            },
            r"Migration\(to=2\) maps state 'x' to 'y'",
        ),
        ({"migrations": [Migration(to=2, data="nope")]}, "names 'nope', which is not a method"),
        ({"on_lost": "ignore"}, "on_lost must be one of"),
        ({"on_lost": Lost.HANDLER}, "needs a method place_lost"),
        ({"lost_message": 3}, "lost_message must be text or None"),
    ],
)
def test_a_bad_version_declaration_is_refused_at_registration(
    attrs: dict[str, Any], message: str
) -> None:
    with pytest.raises(FlowDefinitionError, match=r"^flow 'f': .*" + message):
        compile_flow(_flow(**attrs))


def test_a_chain_that_ends_in_a_current_state_is_accepted() -> None:
    steps = [Migration(to=2, renamed={"x": "y"}), Migration(to=3, renamed={"y": "b"})]
    compiled = compile_flow(_flow(migrations=steps))
    assert [m.to for m in compiled.migrations] == [2, 3]


async def _upgrade(data: dict[str, Any]) -> None:
    return None


def test_an_async_data_upgrade_is_refused() -> None:
    with pytest.raises(FlowDefinitionError, match="must be a plain function"):
        compile_flow(_flow(migrations=[Migration(to=2, data=_upgrade)]))  # type: ignore[arg-type]


async def test_an_export_shows_a_migration_as_a_comment_and_replays(url: str) -> None:
    from bot.export.transcript import to_transcript

    async with Harness(build_v1, database_url=url) as h:
        await _to_ask_mail(h)
        await h.deploy(build_v2)
        await h.phone("+15550001111").send("ada@example.com")
        text = to_transcript(await _stored(h), await h.store.log(KEY))
    assert "# migrated: v1 → v2: ask_mail → ask_email\n> ada@example.com\n" in text
    assert "> v1" not in text


async def test_a_version_bump_without_a_migration_is_recorded_and_continues(url: str) -> None:
    class Bumped(SignupV1):
        version = 2

    async with Harness(build_v1, database_url=url) as h:
        await _to_ask_mail(h)
        await h.deploy(_build(Bumped))
        reply = await h.phone("+15550001111").send("ada@example.com")
        assert reply.messages == ["All set, Ada Lovelace <ada@example.com>."]
        assert (await _stored(h)).flow_version == 2
        migrated = [e for e in await h.store.log(KEY) if e.kind == "migrated"]
        assert [(e.state_before, e.state_after) for e in migrated] == [("ask_mail", "ask_mail")]


class _Nags:
    def again(self, turn: Any) -> None:
        turn.say("Say ok, please.")

    def nag(self, turn: Any) -> None:
        turn.say("Time is up.")


def _waits(state: str) -> list[dict[str, Any]]:
    return [
        T("message", state, "done", conditions=text_is("ok")),
        T("invalid", state, None, after="again"),
        T("remind", state, "done", before="nag"),
    ]


class Waits(_Nags, Flow):
    name = "signup"
    initial = "wait_a"
    states = ["wait_a", "done"]
    final_states = ["done"]
    transitions = _waits("wait_a")
    timeouts = {"wait_a": [Timeout("1h", "remind")]}

    def on_enter_wait_a(self, turn: Any) -> None:
        turn.say("Say ok.")


class WaitsRenamed(_Nags, Flow):
    name = "signup"
    version = 2
    migrations = [Migration(to=2, renamed={"wait_a": "wait_b"})]
    initial = "wait_b"
    states = ["wait_b", "done"]
    final_states = ["done"]
    transitions = _waits("wait_b")
    timeouts = {"wait_b": [Timeout("1h", "remind")]}

    def on_enter_wait_b(self, turn: Any) -> None:
        turn.say("Say ok.")


async def test_a_renamed_state_keeps_its_timeout_after_the_migration(url: str) -> None:
    async with Harness(_build(Waits), database_url=url) as h:
        phone = h.phone("+15550001111")
        assert (await phone.send("hi")).messages == ["Say ok."]
        await h.deploy(_build(WaitsRenamed))
        h.clock.advance(600)
        assert (await phone.send("nope")).messages == ["Say ok, please."]  # stays, migrated
        h.clock.advance(2 * 3600)
        assert await h.drain() >= 1
        after = await _stored(h)
        assert (after.state, after.closed) == ("done", True)
        assert h.twilio is not None
        assert [m.body for m in h.twilio.sent()] == ["Time is up."]
