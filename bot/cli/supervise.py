"""Keep ``--workers`` Hypercorn worker processes serving one socket; restart any that dies.

Hypercorn's own multi-worker mode stops every worker when one dies and then exits 0, so a
supervisor that restarts on failure leaves the server down. Here the parent binds the socket
once and spawns the workers (each a Hypercorn worker serving that socket, so the others keep
accepting while one is replaced); a worker that dies is logged and started again. The parent
gives up, exiting 1 with one line, only when workers keep dying within ``min_uptime`` seconds
of starting (``max_fast_deaths`` times in a row): a broken app or a database that refuses
every start cannot be kept up by restarting it. SIGTERM or SIGINT stops the workers gracefully
(each gets SIGTERM; no lock is shared between them that a killed worker could leave held)
and exits 0.

With ``changes`` (``serve --reload``), a changed source file restarts every worker, and
workers that keep dying (a broken edit) are not given up on: the supervisor says so and
waits for the next change.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any, Protocol

__all__ = ["Changes", "Supervisor", "describe_exit"]


class Changes(Protocol):
    """What ``--reload`` watches: the source files changed since last asked."""

    def take(self) -> list[str]: ...


def describe_exit(code: int | None) -> str:
    """``killed by SIGKILL`` for -9, ``exit status 1`` for 1."""
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _say(line: str) -> None:
    print(f"switchboard: {line}", file=sys.stderr, flush=True)


class Supervisor:
    """Runs ``config.workers`` workers of ``worker`` (a Hypercorn worker function)."""

    def __init__(
        self,
        config: Any,
        worker: Callable[..., None],
        *,
        min_uptime: float = 5.0,
        max_fast_deaths: int = 3,
        grace: float = 15.0,
        say: Callable[[str], None] = _say,
        changes: Changes | None = None,
    ) -> None:
        self.config, self.worker, self.say = config, worker, say
        self.changes = changes  # --reload: restart the workers when a source file changed
        self.min_uptime, self.max_fast_deaths, self.grace = min_uptime, max_fast_deaths, grace
        self.stopping = False
        self._fast = 0  # workers in a row that died within min_uptime of starting
        self._started: dict[BaseProcess, float] = {}
        self._ctx = get_context("spawn")

    def _spawn(self, sockets: Any) -> None:
        process = self._ctx.Process(
            target=self.worker, kwargs={"config": self.config, "sockets": sockets}
        )
        process.start()
        self._started[process] = time.monotonic()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Serve until stopped (0) or until workers cannot be kept up (1)."""
        sockets = self.config.create_sockets()
        self._fill(sockets)
        for name in ("SIGINT", "SIGTERM"):
            signal.signal(getattr(signal, name), self._stop)
        self._fast, status = 0, 0
        while not self.stopping:
            if self._started:
                wait([p.sentinel for p in self._started], timeout=0.2)
            else:
                time.sleep(0.2)  # --reload after a broken edit: waiting for the next change
            if self._reloaded(sockets):
                continue
            for process in [p for p in self._started if p.exitcode is not None]:
                if not self._replace(process, sockets):
                    status, self.stopping = 1, True
                    break
        self._shutdown(sockets)
        return status

    def _reloaded(self, sockets: Any) -> bool:
        """With ``changes``: restart every worker if a source file changed."""
        changed = self.changes.take() if self.changes is not None else []
        if changed:
            shown = ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "")
            self.say(f"{shown} changed; reloading")
            self._terminate()
            self._fill(sockets)
            self._fast = 0
        return bool(changed)

    def _replace(self, process: BaseProcess, sockets: Any) -> bool:
        """A worker ended: start another; False when they keep dying (give up)."""
        uptime = time.monotonic() - self._started.pop(process)
        process.join()
        if self.stopping:
            return True
        self._fast = self._fast + 1 if uptime < self.min_uptime else 0
        died = f"worker {process.pid} died ({describe_exit(process.exitcode)}) after {uptime:.1f}s"
        if self._fast < self.max_fast_deaths:
            self.say(f"{died}; starting another")
            self._spawn(sockets)
            return True
        if self.changes is not None:  # a broken edit: the next one may fix it
            self.say(f"{died}; waiting for a change to reload (see the errors above)")
            return True
        self.say(f"{died}; starting another")
        self.say(f"workers died {self._fast} times in a row within {self.min_uptime:g}s "
                 "of starting; giving up (see the errors above)")  # fmt: skip
        return False

    def _fill(self, sockets: Any) -> None:
        for _ in range(self.config.workers - len(self._started)):
            self._spawn(sockets)

    def _terminate(self) -> None:
        """Stop every worker gracefully (SIGTERM; SIGKILL after ``grace`` seconds)."""
        for process in self._started:
            if process.exitcode is None and process.pid is not None:
                process.terminate()  # SIGTERM: Hypercorn's worker shuts down gracefully
        deadline = time.monotonic() + self.grace
        for process in self._started:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.exitcode is None:
                process.kill()
                process.join(5)
        self._started.clear()

    def _shutdown(self, sockets: Any) -> None:
        self._terminate()
        for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
            sock.close()
