"""``switchboard flows check`` on both backends, and the static checks it prints."""

from __future__ import annotations

import asyncio
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.flow.checks import Problem, static_checks
from bot.flow.definition import compile_flow
from bot.settings import BANNER_SHOWN
from bot.testing import Harness
from storage import open_store
from storage.records import Conversation, TurnWrite
from tests.versions.signup import build_v1
from tests.versions.sloppy import Sloppy

APP_V2 = "tests.versions.app_v2:app"


async def _main(argv: list[str]) -> int:
    """The command as run from a shell (it runs its own event loop)."""
    return await asyncio.to_thread(main, argv)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database of each backend; the app modules read a token from the environment."""
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret-token")
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


def _row(key: str, state: str, flow_version: int = 1) -> Conversation:
    return Conversation(
        key=key, flow="signup", state=state, data={"name": "X Y"}, version=1, channel="sms",
        ours="+15550100000", theirs=key, flow_version=flow_version,
    )  # fmt: skip


async def _live_v1(url: str, *planted: Conversation) -> None:
    """Three v1 conversations (ask_name, ask_phone, ask_mail), plus ``planted`` rows."""
    async with Harness(build_v1, database_url=url) as h:
        for number, texts in [("+15550000001", 1), ("+15550000002", 2), ("+15550000003", 3)]:
            phone = h.phone(number)
            for text in ["hi", "Ada Lovelace", "555"][:texts]:
                await phone.send(text)
        for row in planted:
            assert await h.store.commit(TurnWrite(row, [], [], "", h.clock.now())) is None


async def test_a_planted_lost_conversation_fails_the_check(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _live_v1(url, _row("+15550000009", "ask_fax"))
    assert await _main(["flows", "check", "--app", APP_V2, "--database", url]) == 1
    out = capsys.readouterr().out
    assert "4 live conversations" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "LOST" in lines["ask_fax"] and "restarted" in lines["ask_fax"]
    assert "migrated to v2 to 'ask_email'" in lines["ask_mail"]
    assert "migrated to v2 to 'ask_email'" in lines["ask_phone"]
    assert "migrated to v2 (same state)" in lines["ask_name"]
    assert "FAIL: 1 live conversations would be lost" in out


async def test_every_conversation_placed_passes(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _live_v1(url)
    assert await _main(["flows", "check", "--app", APP_V2, "--database", url]) == 0
    assert "ok: every live conversation is placed" in capsys.readouterr().out


async def test_newer_conversations_fail_a_check_of_older_code(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _live_v1(url, _row("+15550000009", "ask_email", flow_version=2))
    assert (
        await _main(["flows", "check", "--app", "tests.versions.app_v1:app", "--database", url])
        == 1
    )
    assert "written by newer code (v2)" in capsys.readouterr().out


async def test_a_database_before_migration_0008_is_read_and_then_upgraded(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await _live_v1(url, _row("+15550000009", "ask_fax"))
    store = open_store(url, auto_migrate=True)
    await store.open()
    for sql in [
        "ALTER TABLE conversations DROP COLUMN flow_version",
        "ALTER TABLE conversations DROP COLUMN flow_shape",
        "DELETE FROM schema_version WHERE version = 8",
    ]:
        await store.run(_statement(sql))  # type: ignore[attr-defined]
    await store.close()
    assert await _main(["flows", "check", "--app", APP_V2, "--database", url]) == 1
    out = capsys.readouterr().out
    assert "ask_fax" in out and " v0 " in out
    assert await _main(["db", "upgrade", "--database", url]) == 0
    store = open_store(url, auto_migrate=False)
    await store.open()  # the schema is current again
    found = await store.conversation("sms:+15550100000:+15550000003")
    await store.close()
    assert found is not None and (found.state, found.flow_version, found.flow_shape) == (
        "ask_mail",
        0,
        "",
    )


async def test_the_check_needs_no_twilio_auth_token(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It answers no webhook: an app module that reads its settings when imported (as
    ``app.py`` does) loads without TWILIO_AUTH_TOKEN, as in a CI job holding no Twilio secret."""
    await _live_v1(sqlite_url)
    for name in ("TWILIO_AUTH_TOKEN", "SWITCHBOARD_DEV", BANNER_SHOWN):
        monkeypatch.setenv(name, "x")  # so that the environment is restored afterwards
        monkeypatch.delenv(name)
    module = APP_V2.partition(":")[0]  # imported afresh, reading the environment above
    monkeypatch.setitem(sys.modules, module, types.ModuleType(module))
    monkeypatch.delitem(sys.modules, module)
    assert await _main(["flows", "check", "--app", APP_V2, "--database", sqlite_url]) == 0
    captured = capsys.readouterr()
    assert "ok: every live conversation is placed" in captured.out
    assert "TWILIO_AUTH_TOKEN" not in captured.err and "DEV MODE" not in captured.err


def _statement(sql: str) -> Any:
    yield sql, ()


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret-token")
    path = tmp_path / "nothing.db"
    assert main(["flows", "check", "--app", APP_V2, "--database", f"sqlite:///{path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("switchboard: no SQLite database") and err.count("\n") == 1
    assert not path.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("app", "says"),
    [
        ("no_such_module:app", "cannot load the app 'no_such_module:app': no module "),
        ("no_such_module:app", "run this from your project's directory, or pass --app"),
        ("tests.versions.signup:nothing", "tests.versions.signup has no 'nothing'"),
        ("tests.versions.signup:SignupV1", "is not a Switchboard app"),
        ("app", "use module:attribute"),
    ],
)
def test_an_app_that_cannot_be_loaded_is_one_line(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], app: str, says: str
) -> None:
    assert main(["flows", "check", "--app", app, "--database", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("switchboard: ") and says in err and err.count("\n") == 1


def test_a_state_running_a_subflow_is_not_asked_for_an_invalid_transition() -> None:
    # while the child runs, the person's text goes to the child, never to the caller's state
    from flows import SignupFlow

    found = {(f.state, f.problem) for f in static_checks(compile_flow(SignupFlow))}
    assert ("verifying", Problem.NO_INVALID) not in found


def test_static_checks_name_each_problem() -> None:
    found = {(f.state, f.problem) for f in static_checks(compile_flow(Sloppy))}
    assert found == {
        ("menu", Problem.NO_INVALID),  # "3" falls through both conditions
        ("stuck", Problem.DEAD_END),
        ("menu", Problem.TIMER_CANNOT_FIRE),  # no Timeout arms "nudge" in menu
    }


def test_a_well_formed_flow_has_no_findings() -> None:
    from tests.versions.signup import SignupV2

    assert static_checks(compile_flow(SignupV2)) == []


async def test_strict_fails_on_static_findings_and_prints_them(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _main(["db", "upgrade", "--database", url]) == 0  # no conversations yet
    app = "tests.versions.app_sloppy:app"
    assert await _main(["flows", "check", "--app", app, "--database", url]) == 0
    out = capsys.readouterr().out
    assert "warning: flow 'sloppy' state 'stuck': dead_end" in out
    assert "ok: every live conversation is placed" in out
    assert await _main(["flows", "check", "--app", app, "--database", url, "--strict"]) == 1
    assert "FAIL: 3 static findings (--strict)" in capsys.readouterr().out
