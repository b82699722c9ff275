"""``switchboard serve --dev``, run for real: one readable line per step on the console, a
clock that `switchboard dev clock` moves (due timers fire at once), and none of it in
production (issue 11)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.devserver.server import PROJECT, ROOT, Server, environment, serving

ANNA, BORIS = "+15550005555", "+15550002222"  # the recipe texts from +15550001111


def _sid(n: int) -> str:
    return f"SM{n + 100:032x}"  # clear of the recipe's SM…0001


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    project = tmp_path_factory.mktemp("project")
    (project / "nudgebot.py").write_text(PROJECT)
    database = f"sqlite:///{project / 'dev.db'}"
    with serving(project, "--dev", "--app", "nudgebot:app", "--database", database) as server:
        server.database = database
        yield server


def _dev_clock(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "dev", "clock", *args], cwd=ROOT, env=environment(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_developer_loops_curl_recipe_works_as_written(dev: Server) -> None:
    page = (ROOT / "docs" / "developer-loop.md").read_text("utf-8")
    [recipe] = re.findall(r"```sh\n\s*(curl -s http://127.0.0.1:8000/twilio .*?)```", page, re.S)
    command = recipe.replace("127.0.0.1:8000", f"127.0.0.1:{dev.port}")  # only the port
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("<Response><Message>REPLY_V1</Message></Response>")


def test_each_step_is_one_readable_line_on_the_console(dev: Server) -> None:
    assert dev.text(ANNA, "hi", _sid(1))[0] == 200
    assert dev.text(ANNA, "later", _sid(2))[0] == 200
    log = dev.wait_for("'later'")
    anna = [x for x in log.splitlines() if "+*********55 nudge" in x]
    [first] = [x for x in anna if "'hi'" in x]
    [second] = [x for x in anna if "'later'" in x]
    assert " INFO switchboard.turns turn sms:+*********00:+*********55 nudge " in first
    assert "→ asking (ok)" in first and first.endswith("| 'hi' → 'REPLY_V1'")
    assert "asking → waiting (ok)" in second and second.endswith("→ 'I will wait an hour.'")
    assert not first.lstrip().startswith("{") and ANNA not in log  # text, numbers masked


def test_the_dev_clock_fires_due_timers_at_once(dev: Server) -> None:
    dev.text(BORIS, "hi", _sid(3))
    dev.text(BORIS, "later", _sid(4))  # waiting: a timer in one hour
    status, early = dev.advance("30m")
    assert status == 200 and early["fired"] == 0 and early["offset_seconds"] >= 1800
    status, due = dev.advance("31m")
    assert status == 200 and due["fired"] >= 1  # Boris's, and any other test's waiting
    log = dev.wait_for("+*********22 nudge waiting → nudged")
    [line] = [x for x in log.splitlines() if "+*********22 nudge waiting → nudged" in x]
    assert line.endswith("| [timer no_reply] → nothing; sends 'Still there?' to +*********22")


def test_outbound_goes_to_the_fake_twilio_and_delivery_statuses_come_back(dev: Server) -> None:
    dev.text("+15550003333", "hi", _sid(5))
    dev.text("+15550003333", "later", _sid(6))
    assert dev.advance("2h")[1]["fired"] >= 1
    log = dev.wait_for("to +*********33: delivered")
    accepted = [x for x in log.splitlines() if "fake Twilio accepted" in x and "*33," in x]
    assert len(accepted) == 1
    assert accepted[0].endswith(
        "SMS +*********00 → +*********33, 1 segment (GSM-7): 'Still there?'"
    )
    sid = accepted[0].split("fake Twilio accepted ")[1].split()[0]
    assert f"fake Twilio {sid} to +*********33: sent (the app answered 204)" in log
    assert f"fake Twilio {sid} to +*********33: delivered (the app answered 204)" in log
    assert "no Twilio credentials, so the built-in fake Twilio at http://127.0.0.1:" in log
    report = subprocess.run(
        [sys.executable, "-m", "bot.cli", "outbox", "--by", "number", "--database",
         dev.database], cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    [row] = [x for x in report.stdout.splitlines() if x.startswith("+15550003333")]
    assert row.split()[1:4] == ["1", "1", "100.0%"], report.stdout  # stored as delivered


def test_the_example_sign_up_is_verified_with_the_code_the_fake_verify_shows(
    tmp_path: Path,
) -> None:
    # Without Twilio credentials the fake Twilio is the Verify service too, and its code is
    # shown; before, the sign-up answered "we couldn't send a code" on every dev server.
    database = f"sqlite:///{tmp_path / 'dev.db'}"
    with serving(tmp_path, "--dev", "--app", "app:app", "--database", database) as server:

        def send(body: str, n: int) -> str:
            form = {"From": "+15550006666", "To": "+15550100400", "Body": body,
                    "MessageSid": _sid(n)}  # fmt: skip
            data = urlencode(form).encode()
            status, answer = server.request("/twilio", data, "application/x-www-form-urlencoded")
            assert status == 200, answer
            return answer

        send("hi", 50)
        assert "We've sent a code to …6666 by text message." in send("Ada", 51)
        log = server.wait_for("fake Twilio Verify sent code ")
        found = re.search(r"fake Twilio Verify sent code (\d{6}) by sms to \+\*+66\n", log)
        assert found is not None, log
        assert "You're signed up, Ada." in send(found[1], 52)


def test_switchboard_dev_clock_moves_it_and_says_so(dev: Server) -> None:
    before = _dev_clock("--url", dev.url)
    assert before.returncode == 0, before.stderr
    assert before.stdout.startswith("dev clock: ") and "ahead of the wall clock" in before.stdout
    moved = _dev_clock("--advance", "2h", "--url", dev.url)
    assert moved.returncode == 0, moved.stderr
    assert "timers fired" in moved.stdout or "timer fired" in moved.stdout
    bad = _dev_clock("--advance", "soon", "--url", dev.url)
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_the_dev_clock_refuses_a_body_it_cannot_read_without_a_500(dev: Server) -> None:
    deep = b'{"advance": ' + b"[" * 1100 + b"]" * 1100 + b"}"
    for body in (deep, b'{"advance": "\\ud800"}', b"[1]", b"{nope"):
        status, answer = dev.request("/dev/clock", body)
        assert status == 415 and "send JSON like" in answer, body[:20]


def test_dev_clock_without_a_server_is_one_line_and_non_zero() -> None:
    done = _dev_clock("--advance", "1h", "--url", "http://127.0.0.1:9")
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("switchboard: no dev server answers at http://127.0.0.1:9")
    assert "switchboard serve --dev" in line


def test_production_has_no_dev_clock(tmp_path: Path) -> None:
    (tmp_path / "nudgebot.py").write_text(PROJECT)
    env = environment(TWILIO_AUTH_TOKEN="0123456789abcdef0123456789abcdef")
    database = f"sqlite:///{tmp_path / 'prod.db'}"
    args = ("--host", "127.0.0.1", "--app", "nudgebot:app", "--database", database)
    with serving(tmp_path, *args, env=env) as server:
        status, _ = server.request("/dev/clock", b'{"advance": "2h"}')
        assert status == 404
        assert server.request("/dev/clock")[0] == 404
        done = _dev_clock("--advance", "2h", "--url", server.url)
    assert done.returncode == 2 and "has no dev clock" in done.stderr
    assert "dev clock" not in server.log()
