"""A real ``switchboard serve --dev`` on loopback for the dev-server tests: started in its
own process group on a free port, waited for (bounded), stopped on teardown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bot.testing.cluster import free_port

ROOT = Path(__file__).resolve().parents[2]
OURS = "+15550100000"

# A project of one's own: one flow that waits an hour for a reply, then nudges.
PROJECT = """
from bot import Flow, Router, Settings, T, Timeout, Turn, create_app


class Nudge(Flow):
    name = "nudge"
    initial = "asking"
    states = ["asking", "waiting", "nudged"]
    transitions = [T("message", "asking", "waiting"), T("no_reply", "waiting", "nudged")]
    timeouts = {"waiting": [Timeout("1h", "no_reply")]}

    def on_enter_asking(self, turn: Turn) -> None:
        turn.say("REPLY_V1")

    def on_enter_waiting(self, turn: Turn) -> None:
        turn.say("I will wait an hour.")

    def on_enter_nudged(self, turn: Turn) -> None:
        turn.say("Still there?")


app = create_app([Nudge], Router(default="nudge"), Settings.from_env())
"""


@dataclass
class Server:
    """One running server: its port, process and combined output."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    database: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def text(self, sender: str, body: str, sid: str) -> tuple[int, str]:
        """POST a message as the README's curl recipe does (unsigned, form-encoded)."""
        form = {"From": sender, "To": OURS, "Body": body, "MessageSid": sid}
        return self.request(
            "/twilio", urlencode(form).encode(), "application/x-www-form-urlencoded"
        )

    def request(
        self, path: str, data: bytes | None = None, kind: str = "application/json"
    ) -> tuple[int, str]:
        asked = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": kind})
        try:
            with urllib.request.urlopen(asked, timeout=20) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def advance(self, duration: str) -> tuple[int, dict[str, Any]]:
        status, body = self.request("/dev/clock", json.dumps({"advance": duration}).encode())
        return status, json.loads(body)

    def wait_for(self, text: str, within: float = 15.0) -> str:
        """The output once it holds ``text``; AssertionError after ``within`` seconds."""
        deadline = time.monotonic() + within
        while text not in (seen := self.log()):
            assert self.process.poll() is None, f"the server exited:\n{seen}"
            assert time.monotonic() < deadline, f"no {text!r} within {within:g}s:\n{seen}"
            time.sleep(0.1)
        return seen


def environment(**more: str) -> dict[str, str]:
    """This process's environment without Switchboard's or Twilio's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO_"))}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT), **more)
    return env


@contextmanager
def serving(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, within: float = 60.0
) -> Iterator[Server]:
    """``switchboard serve --port <free> *args`` in ``cwd`` until the block ends."""
    port = free_port()
    log_path = cwd / f"serve-{port}.log"
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), *args]
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=dict(env or environment()), stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    server = Server(port, process, log_path)
    try:
        deadline = time.monotonic() + within
        while True:
            assert process.poll() is None, f"the server exited:\n{server.log()}"
            assert time.monotonic() < deadline, f"not up within {within:g}s:\n{server.log()}"
            with suppress(OSError):
                urllib.request.urlopen(server.url + "/livez", timeout=2).close()
                break
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # a worker left behind
    process.wait(timeout=10)
