"""``switchboard chat`` driven as a person would: through a real pseudo-terminal (pexpect).

Each session starts the installed command, types lines, reads the answers on the terminal,
then saves the session and replays the saved transcript with the transcript runner, which
must pass. Errors before the prompt are one line and exit 2 (run without a terminal).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from bot.testing.cluster import free_port
from bot.testing.runner import Runner
from bot.testing.transcript import Send, parse
from flows import build
from storage import open_store
from storage.records import Conversation

ROOT = Path(__file__).resolve().parent.parent
SWITCHBOARD = str(Path(sys.executable).parent / "switchboard")
PROMPT = "you> "


def _env() -> dict[str, str]:
    """The user's environment without Switchboard's settings (chat needs none)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("SWITCHBOARD_", "TWILIO_"))}  # fmt: skip


def chat(*args: str, cwd: Path) -> pexpect.spawn[str]:
    """``switchboard chat ARGS`` on a terminal, at its first prompt."""
    child = pexpect.spawn(
        SWITCHBOARD, ["chat", *args], cwd=str(cwd), env=_env(), encoding="utf-8", timeout=20,
        dimensions=(50, 250),
    )  # fmt: skip
    child.expect_exact(PROMPT)
    return child


def say(child: pexpect.spawn[str], line: str, *expected: str) -> str:
    """Type ``line``; each of ``expected`` shows, in order, then the next prompt. The output."""
    child.sendline(line)
    shown = ""
    for text in expected:
        child.expect_exact(text)
        shown += (child.before or "") + text
    child.expect_exact(PROMPT)
    return shown + (child.before or "")


def leave(child: pexpect.spawn[str]) -> int:
    child.sendeof()  # Ctrl-D
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus or 0)


def replay(path: Path) -> int:
    """Replay the transcript at ``path`` against the example app; the turns it played."""
    runner = Runner(parse(path.read_text(encoding="utf-8"), str(path)), build)
    asyncio.run(runner.run())  # raises TranscriptMismatch on the first turn that differs
    return runner.turn


def test_a_text_conversation_shows_answers_state_data_and_saves_a_green_transcript(
    tmp_path: Path,
) -> None:
    child = chat("--app", "flows:build", "--flow", "support", cwd=tmp_path)
    say(child, "hi", "< Hi! Reply 1 to ask a question, 2 to check an order, 3 for opening hours.")
    say(child, "2", "< What's your order number? It looks like A1234.")
    say(child, "/state", "state: order_lookup")
    say(child, "a1001", "< Order A1001 is shipped on Monday.")
    say(child, "/data", "{")
    say(child, "/nonsense", "! unknown command /nonsense: /help lists them")
    say(child, "/help", "/wait 2h", "/save FILE")
    saved = tmp_path / "order.transcript"
    say(child, f"/save {saved}", f"saved {saved}")
    assert leave(child) == 0
    text = saved.read_text(encoding="utf-8")
    assert "flow: support\nchannel: sms\nfrom: +15550001111\n" in text
    assert "> 2\n< What's your order number? It looks like A1234.\n= state order_lookup\n" in text
    assert replay(saved) == 3
    # a throw-away database: nothing left where it ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["order.transcript"]


def test_wait_fires_a_timer_and_shows_outbound_messages_with_their_status(
    tmp_path: Path,
) -> None:
    child = chat("--app", "flows:build", "--flow", "appointments", cwd=tmp_path)
    started = say(child, "/start name=Ana when=Tuesday", "Hi Ana, this is a reminder")
    assert "-> +15550001111 (1 segment, queued > sent > delivered)" in started
    waited = say(child, "/wait 2h", "We haven't heard back about Tuesday.")
    assert "the clock is now Mon 2026-01-05 11:00 UTC" in waited
    say(child, "/wait 2x", "! not a delay: '2x'")  # a bad duration: one line, the chat goes on
    say(child, "c", "< Thanks, you're confirmed for Tuesday.")
    say(child, "/state", "state: confirmed (closed)")
    saved = tmp_path / "reminder"
    say(child, f"/save {saved}", "saved ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    transcript = (tmp_path / "reminder.transcript").read_text(encoding="utf-8")
    assert "> [wait 2h]\n< We haven't heard back about Tuesday." in transcript
    assert replay(tmp_path / "reminder.transcript") == 3


def test_a_call_with_keys_a_missed_dial_a_message_and_a_hang_up(tmp_path: Path) -> None:
    child = pexpect.spawn(
        SWITCHBOARD, ["chat", "--app", "flows:build", "--channel", "voice", "--to", "+15550100000"],
        cwd=str(tmp_path), env=_env(), encoding="utf-8", timeout=20,
    )  # fmt: skip
    child.expect_exact("< say: Thanks for calling Acme.")
    child.expect_exact(PROMPT)
    say(child, "1", "< say: Connecting you to sales.", "< dial: +15550102001")
    say(child, "/dial no-answer", "< say: Sorry, nobody in sales could take your call.", "< record")
    say(child, "/record 14", "< say: Thank you, we got your message. Goodbye.", "< hangup")
    say(child, "2", "! the call has ended: /call rings again")
    say(child, "/call", "< say: Welcome back to Acme.")  # the IVR remembers the caller
    say(child, "/hangup", "< (no reply)")
    saved = tmp_path / "call.transcript"
    say(child, f"/save {saved}", "saved ")
    assert leave(child) == 0
    steps = parse(saved.read_text(encoding="utf-8")).steps
    actions = [s.source for s in steps if isinstance(s, Send)]
    assert actions == ["[call]", "[digits 1]", "[dial no-answer]", "[record 14]", "[call]",
                       "[hangup]"]  # fmt: skip
    assert replay(saved) == 6


def test_whatsapp_and_awkward_text_replay_exactly(tmp_path: Path) -> None:
    child = chat("--app", "flows:build", "--channel", "whatsapp", "--flow", "support",
                 cwd=tmp_path)  # fmt: skip
    say(child, "[hi]", "< Hi! Reply 1")  # brackets: saved as > [text '[hi]']
    say(child, "1", "< What's your question?")
    say(child, "//slash first", "< Thanks! Your question is ticket #1")
    saved = tmp_path / "wa.transcript"
    say(child, f"/save {saved}", "saved ")
    assert leave(child) == 0
    text = saved.read_text(encoding="utf-8")
    assert "channel: whatsapp" in text and "> [text '[hi]']" in text
    assert replay(saved) == 3


def test_database_option_keeps_the_conversation_there(url: str, tmp_path: Path) -> None:
    child = chat("--app", "flows:build", "--flow", "support", "--database", url, cwd=tmp_path)
    say(child, "hi", "< Hi! Reply 1")
    say(child, "/reset", "! /reset starts over on a fresh throw-away database")
    assert leave(child) == 0
    stored = asyncio.run(_stored(url, "sms:+15550100300:+15550001111"))
    assert stored is not None and stored.flow == "support" and stored.state == "menu"


async def _stored(url: str, key: str) -> Conversation | None:
    store = open_store(url, auto_migrate=False)
    await store.open()
    try:
        return await store.conversation(key)
    finally:
        await store.close()


def test_reset_starts_over_on_the_default_app_without_dev_warnings() -> None:
    child = chat("--flow", "support", cwd=ROOT)  # app:app, found as `serve --app` finds it
    assert "WARNING" not in (child.before or "")  # the imported app.py is read, not served
    say(child, "2", "< Hi! Reply 1")  # a new conversation: the menu first
    say(child, "2", "< What's your order number?")
    say(child, "/reset", "the conversation starts over")
    say(child, "/state", "! no conversation yet")
    say(child, "2", "< Hi! Reply 1")
    assert leave(child) == 0


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[str]:
    """``switchboard serve --dev`` on the repository's app:app and a fresh SQLite file."""
    url, port = f"sqlite:///{tmp_path / 'dev.db'}", free_port()
    env = _env()
    subprocess.run([SWITCHBOARD, "db", "upgrade", "--database", url], env=env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    server = subprocess.Popen(
        [SWITCHBOARD, "serve", "--dev", "--workers", "0", "--port", str(port), "--database", url],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("the dev server did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_url_talks_to_a_running_dev_server(dev_server: str, tmp_path: Path) -> None:
    child = chat("--url", dev_server, cwd=tmp_path)
    say(child, "hi", "< Hi! Reply 1 to ask a question")
    say(child, "/state", "state: menu")
    # the server's clock moves (POST /dev/clock); what its timers queued would show here
    say(child, "/wait 2h", "(the server's clock is now ", "(nothing was sent)")
    saved = tmp_path / "remote.transcript"
    say(child, f"/save {saved}", "saved ")
    assert leave(child) == 0
    assert "> [wait 2h]\n" in saved.read_text(encoding="utf-8")
    assert replay(saved) == 2
    with urllib.request.urlopen(dev_server + "/dev/clock", timeout=5) as answer:
        assert json.load(answer)["offset_seconds"] >= 7200


def _fails(*args: str, cwd: Path) -> str:
    """Run ``switchboard chat ARGS`` without a terminal; it must exit 2 with one line."""
    started = time.monotonic()
    done = subprocess.run(
        [SWITCHBOARD, "chat", *args], cwd=cwd, env=_env(), capture_output=True, text=True,
        timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert time.monotonic() - started < 20
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert done.stdout == "" and line.startswith("switchboard: ")
    return line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--app", "no_such_module:app"], "cannot load the app 'no_such_module:app'"),
        ([], "cannot load the app 'app:app': no module 'app' in "),  # the default, elsewhere
        (["--app", "flows"], "use module:attribute"),
        (["--app", "flows:build", "--flow", "nosuch"], "unknown flow 'nosuch': this app has "),
        (["--app", "flows:build", "--from", "hello"], "--from 'hello' is not an address"),
        (["--app", "flows:build", "--to", "12345"], "E.164"),
        (["--url", "http://127.0.0.1:9", "--database", "sqlite:///x.db"], "drop --database"),
        (["--url", "http://127.0.0.1:9"], "no server at http://127.0.0.1:9"),
        (["--app", "flows:build", "--database", "postgresql://bob:secret@127.0.0.1:9/x"],
         "cannot connect to PostgreSQL 127.0.0.1:9/x"),
    ],
    ids=["bad-app", "default-app-elsewhere", "no-attr", "unknown-flow", "bad-from",
         "short-code-to", "url-db", "no-server", "no-database"],
)  # fmt: skip
def test_errors_are_one_line_and_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    line = _fails(*args, cwd=tmp_path)
    assert says in line and "secret" not in line
    assert list(tmp_path.iterdir()) == []  # no database left behind


BROKEN = """
from bot import Flow, Router, Settings, T, create_app

class Bad(Flow):
    name = "bad"
    states = ["a", "b"]
    initial = "a"
    transitions = [T("mesage", "a", "b")]

app = create_app([Bad], Router(default="bad"), Settings.from_env())
"""


def test_a_misspelt_trigger_in_the_app_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(BROKEN, encoding="utf-8")
    line = _fails("--app", "broken:app", cwd=tmp_path)
    assert "flow 'bad'" in line and "did you mean 'message'?" in line


def test_the_sign_up_shows_the_code_verify_sent_and_records_it_as_code(tmp_path: Path) -> None:
    # the person's phone would show the code; chat shows what the fake Verify "sent", so the
    # example sign-up can be finished in the terminal, and the transcript never writes it down
    child = chat("--app", "flows:build", "--to", "+15550100400", cwd=tmp_path)
    say(child, "hi", "< Welcome! What's your name?")
    shown = say(child, "Ada", "We've sent a code to …1111", "(Verify code by sms): ")
    code = re.search(r"\(Verify code by sms\): (\d{6})", shown)
    assert code is not None, shown
    say(child, code[1], "< Thanks, your number is verified.", "< You're signed up, Ada.")
    saved = tmp_path / "signup.transcript"
    say(child, f"/save {saved}", "saved ")
    assert leave(child) == 0
    text = saved.read_text(encoding="utf-8")
    assert "> [code]\n< Thanks, your number is verified." in text and code[1] not in text
    assert replay(saved) == 3


def test_on_a_call_the_code_is_shown_and_keyed_in_with_the_pound_key(tmp_path: Path) -> None:
    child = pexpect.spawn(
        SWITCHBOARD, ["chat", "--app", "flows:build", "--channel", "voice", "--to", "+15550100400"],
        cwd=str(tmp_path), env=_env(), encoding="utf-8", timeout=20,
    )  # fmt: skip
    child.expect_exact(PROMPT)
    shown = say(child, "1", "followed by the pound key", "(Verify code by sms): ")
    code = re.search(r"\(Verify code by sms\): (\d{6})", shown)
    assert code is not None, shown
    say(child, f"{code[1]}#", "< say: Thanks, your number is verified.")
    saved = tmp_path / "call.transcript"
    say(child, f"/save {saved}", "saved ")
    assert leave(child) == 0
    text = saved.read_text(encoding="utf-8")
    assert "> [code]\n< say: Thanks, your number is verified." in text and code[1] not in text
    assert replay(saved) == 3
