"""``switchboard serve --dev --reload``: an edited flow answers without a restart; a broken
edit does not end the server, the next good one brings it back (issue 11)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.devserver.server import PROJECT, ROOT, Server, environment, serving


def _answer_within(server: Server, expected: str, within: float = 30.0) -> str:
    """Text from a new number each time until the welcome holds ``expected``."""
    deadline, n = time.monotonic() + within, 0
    while True:
        n += 1
        status, body = server.text(f"+1555000{n:04d}", "hi", f"SM{time.time_ns():032x}")
        if status == 200 and expected in body:
            return body
        assert time.monotonic() < deadline, f"no {expected!r} within {within:g}s:\n{server.log()}"
        time.sleep(0.3)


def test_an_edited_flow_is_served_without_a_restart(tmp_path: Path) -> None:
    flow = tmp_path / "nudgebot.py"
    flow.write_text(PROJECT)
    database = f"sqlite:///{tmp_path / 'dev.db'}"
    args = ("--dev", "--reload", "--app", "nudgebot:app", "--database", database)
    with serving(tmp_path, *args) as server:
        assert "REPLY_V1" in _answer_within(server, "REPLY_V1")
        assert f"reloading when a .py file under {tmp_path.resolve()} changes" in server.log()
        flow.write_text(PROJECT.replace("REPLY_V1", "REPLY_V2"))
        started = time.monotonic()
        assert "REPLY_V2" in _answer_within(server, "REPLY_V2")
        reloaded_in = time.monotonic() - started
        assert "switchboard: nudgebot.py changed; reloading" in server.log()

        flow.write_text(PROJECT.replace("def on_enter_asking", "def on_enter_asking("))
        log = server.wait_for("waiting for a change to reload", within=60)
        assert server.process.poll() is None  # a broken edit does not end the dev server
        assert "switchboard: cannot build the app nudgebot:app: SyntaxError" in log
        assert "Traceback" not in log  # one line per try, not a worker's traceback
        flow.write_text(PROJECT.replace("REPLY_V1", "REPLY_V3"))
        assert "REPLY_V3" in _answer_within(server, "REPLY_V3")
    assert reloaded_in < 30


def test_reload_needs_a_worker_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--dev", "--reload", "--workers", "0"],
        cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "switchboard: --reload restarts worker processes: use --workers 1 (the default)"
    )
