"""Start a server on 127.0.0.1 with ``switchboard serve`` and drive it with wrk.

The pipeline and the bare endpoint are served by the same command (``switchboard serve
--app ...``), so both run the same Hypercorn configuration: same worker count, same event
loop (uvloop where installed), same logging.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["Server", "free_port", "run_wrk"]

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk.lua"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@dataclass
class Server:
    """``switchboard serve --app APP --workers N`` on a free local port, for a ``with`` block."""

    app: str
    workers: int
    env: Mapping[str, str]
    log: Path
    options: tuple[str, ...] = ()
    root: Path = HERE.parent  # the checkout whose code is served
    wrapper: tuple[str, ...] = ()  # a command the server runs under (valgrind ...)
    ready_timeout: float = 60.0
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        command = [
            *self.wrapper, sys.executable, "-m", "bot.cli", "serve", "--app", self.app,
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
            *self.options,
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                command, env={**os.environ, "PYTHONPATH": str(self.root), **self.env},
                stdout=log, stderr=log, start_new_session=True, cwd=self.root,
            )  # fmt: skip
        self._wait_ready(self.ready_timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server {self.app} exited early; see {self.log}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server {self.app} did not answer /healthz in {timeout:.0f}s")

    def worker_pids(self) -> list[int]:
        """The worker processes Hypercorn started (children of the serve command)."""
        if self.proc is None:
            return []
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [int(pid) for pid in children.split() if b"spawn_main" in _cmdline(int(pid))]

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the workers have used so far."""
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
        return total / os.sysconf("SC_CLK_TCK")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group, started above
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def run_wrk(
    url: str,
    traffic: Path,
    out: Path,
    *,
    connections: int,
    seconds: float,
    path: str = "/twilio",
    skip: int = 0,
    limit: int = 0,
) -> dict[str, Any]:
    """Run wrk (one thread) against ``url + path``, replaying ``traffic``; its JSON summary.

    ``skip`` lines of the file are left out (already sent); ``limit`` stops after that many
    responses.
    """
    env = {
        **os.environ, "BENCH_TRAFFIC": str(traffic), "BENCH_PATH": path, "BENCH_OUT": str(out),
        "BENCH_THREADS": "1", "BENCH_LIMIT": str(limit), "BENCH_SKIP": str(skip),
    }  # fmt: skip
    duration = f"-d{max(1, round(seconds))}s"  # wrk takes whole seconds
    command = [
        "wrk", "-t1", f"-c{connections}", duration, "--timeout", "10s", "-s", str(LUA), url + path,
    ]  # fmt: skip
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, timeout=seconds + 120)
    result: dict[str, Any] = json.loads(out.read_text())
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def lines_sent(result: Mapping[str, Any]) -> int:
    """How many traffic lines a wrk run consumed (what the next run should skip)."""
    return int(result["sent"])
