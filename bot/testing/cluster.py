"""Several real ``switchboard serve`` processes on loopback, for multi-instance tests.

>>> async with Cluster(3, "postgresql://…", cwd=repo) as cluster:
...     status, body = await cluster.post(session, 0, "/twilio", params)
...     cluster.kill(1)        # SIGKILL the whole process group of instance 1

Each instance is its own process group (Hypercorn runs its worker as a child), so ``kill``
takes the worker down with it, as a crashed host would. Requests are signed for
``public_url`` with the real ``twilio`` RequestValidator, exactly as behind a load balancer
that keeps the public URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import aiohttp

from bot.dev.signing import TEST_AUTH_TOKEN, TEST_PUBLIC_URL, sign

__all__ = ["Cluster", "Instance", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Instance:
    """One ``switchboard serve`` process group."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    killed: bool = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return not self.killed and self.process.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the instance's process group (its Hypercorn worker included)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")


@dataclass
class Cluster:
    """``size`` instances of ``app`` on ``database_url``; an async context manager."""

    size: int
    database_url: str
    cwd: Path
    log_dir: Path
    app: str = "app:app"
    token: str = TEST_AUTH_TOKEN
    public_url: str = TEST_PUBLIC_URL
    env: Mapping[str, str] = field(default_factory=dict)
    startup_timeout_s: float = 30.0
    workers: int = 0  # 0: Hypercorn serves in the process itself (no spawned worker to start)
    instances: list[Instance] = field(default_factory=list)

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            TWILIO_AUTH_TOKEN=self.token,
            SWITCHBOARD_PUBLIC_URL=self.public_url,
            SWITCHBOARD_DATABASE_URL=self.database_url,
            PYTHONUNBUFFERED="1",
        )
        env.pop("SWITCHBOARD_DEV", None)
        env.update(self.env)
        return env

    def _spawn(self, index: int) -> Instance:
        port = free_port()
        log_path = self.log_dir / f"instance-{index}.log"
        command = [
            sys.executable, "-m", "bot.cli", "serve", "--app", self.app,
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers),
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=self.cwd, env=self._environment(), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        return Instance(port, process, log_path)

    async def _ready(self, session: aiohttp.ClientSession, instance: Instance) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if instance.process.poll() is not None:
                raise RuntimeError(f"instance on {instance.port} exited:\n{instance.log()}")
            try:
                async with session.get(instance.base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise TimeoutError(f"instance on {instance.port} not healthy:\n{instance.log()}")

    async def __aenter__(self) -> Cluster:
        self.instances = [self._spawn(i) for i in range(self.size)]
        try:
            async with aiohttp.ClientSession() as session:
                await asyncio.gather(*(self._ready(session, i) for i in self.instances))
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()

    def kill(self, index: int) -> None:
        """SIGKILL instance ``index`` and its worker: a crash, no shutdown hooks."""
        instance = self.instances[index]
        instance.signal(signal.SIGKILL)
        instance.killed = True
        instance.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop every instance (SIGTERM, then SIGKILL after 10 s)."""
        for instance in self.instances:
            instance.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for instance in self.instances:
            try:
                instance.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                instance.signal(signal.SIGKILL)
                instance.process.wait(timeout=10)
            instance.signal(signal.SIGKILL)  # a worker left behind by its parent

    def alive(self) -> list[int]:
        """Indexes of the instances not killed."""
        return [i for i, instance in enumerate(self.instances) if instance.alive]

    async def post(
        self,
        session: aiohttp.ClientSession,
        index: int,
        path: str,
        params: Iterable[tuple[str, str]],
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST ``params`` signed for the public URL to instance ``index``: (status, body)."""
        form = list(params)
        all_headers = dict(headers or {})
        all_headers["X-Twilio-Signature"] = sign(self.public_url + path, form, self.token)
        url = self.instances[index].base + path
        async with session.post(url, data=form, headers=all_headers) as response:
            return response.status, await response.text()
