"""Issue 17: ``switchboard serve`` keeps its workers up.

A worker killed with ``kill -9`` under load took the whole server down within 0.3 s, with exit
status 0 (Hypercorn's multi-worker mode). Now the worker is restarted and logged, the other
one keeps serving, so the only requests lost are the killed worker's in flight; the server
exits 0 on SIGTERM, and non-zero with one line when the app cannot be built or its workers
cannot be kept up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from bot.testing.cluster import Cluster, free_port
from tests.multi.workload import ROOT, Message

CONCURRENCY = 6


def _workers(pid: int) -> list[int]:
    """The Hypercorn worker processes the supervisor ``pid`` spawned."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = []
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


async def _until(check: Callable[[], object], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not met in time")


async def test_a_killed_worker_is_restarted_with_no_outage_beyond_its_requests(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'sb.db'}"
    env = {"SWITCHBOARD_OUTBOUND_WORKER": "0"}
    async with Cluster(1, url, cwd=ROOT, log_dir=tmp_path, workers=2, env=env) as cluster:
        instance = cluster.instances[0]
        await _until(lambda: len(_workers(instance.process.pid)) == 2)
        before = _workers(instance.process.pid)
        results: list[int] = []
        stop = asyncio.Event()

        async def client(n: int, session: aiohttp.ClientSession) -> None:
            i = 0
            while not stop.is_set():
                sid = f"SM{n:08x}{i:024x}"
                message = Message(f"+1555{n:07d}", sid, "hi")
                try:
                    status, _ = await cluster.post(session, 0, "/twilio", message.params())
                except aiohttp.ClientError:
                    status = 0
                results.append(status)
                i += 1

        timeout = aiohttp.ClientTimeout(total=10)
        connector = aiohttp.TCPConnector(force_close=True)  # each request picks a worker
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            tasks = [asyncio.create_task(client(n, session)) for n in range(CONCURRENCY)]
            await asyncio.sleep(1.0)
            served_before = len(results)
            os.kill(before[0], signal.SIGKILL)
            await _until(lambda: set(_workers(instance.process.pid)) - set(before))
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*tasks)
        failed = [s for s in results if s != 200]
        print(f"supervision: {len(results)} requests, {len(failed)} failed: {failed}")
        assert served_before > 0 and len(results) > served_before + CONCURRENCY
        assert len(failed) <= CONCURRENCY, failed  # at most the killed worker's in flight
        assert instance.process.poll() is None  # the server stayed up
        assert len(_workers(instance.process.pid)) == 2
        assert f"worker {before[0]} died (killed by SIGKILL)" in instance.log()
        instance.signal(signal.SIGTERM)
        assert instance.process.wait(timeout=20) == 0


def _serve(tmp_path: Path, app: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SWITCHBOARD_DEV": "1", "PYTHONPATH": str(ROOT), **env}
    command = [sys.executable, "-m", "bot.cli", "serve", "--dev", "--port", str(free_port()),
               "--workers", "1", "--app", app,
               "--database", f"sqlite:///{tmp_path / 'sb.db'}"]  # fmt: skip
    return subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60
    )


def test_an_app_that_cannot_be_built_is_one_line_and_non_zero(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('the flows are broken')\n")
    done = _serve(tmp_path, "broken:app")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("switchboard: cannot build the app broken:app")
    assert "Traceback" not in done.stderr


def test_an_app_module_not_found_says_where_to_run(tmp_path: Path) -> None:
    done = _serve(tmp_path, "nosuch:app")
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert "module not found" in last and "from your project's directory, or pass --app" in last


def test_workers_that_keep_dying_at_start_end_the_server_non_zero(tmp_path: Path) -> None:
    (tmp_path / "dies.py").write_text(
        "import os\n\n\n"
        "async def app(scope, receive, send):\n"
        "    if scope['type'] == 'lifespan':\n"
        "        os._exit(3)  # every worker dies while starting\n"
    )
    done = _serve(tmp_path, "dies:app")
    assert done.returncode == 1, done.stderr
    assert "giving up" in done.stderr.strip().splitlines()[-1]
    assert done.stderr.count("died (exit status 3)") >= 3


@pytest.fixture(autouse=True)
def _linux_only() -> None:
    if not Path("/proc/self/task").exists():
        pytest.skip("reads worker processes from /proc")


def test_a_project_package_shadowing_switchboards_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "__init__.py").write_text("")
    (tmp_path / "ok.py").write_text(
        "from bot.settings import Settings\nfrom flows import build\n\n"
        "app = build(Settings.from_env())\n"
    )
    command = Path(sys.executable).parent / "switchboard"  # as installed: no cwd on sys.path
    done = subprocess.run(
        [str(command), "serve", "--dev", "--port", str(free_port()), "--app", "ok:app",
         "--database", f"sqlite:///{tmp_path / 'sb.db'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "SWITCHBOARD_DEV": "1"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("switchboard: cannot build the app ok:app: ")
    assert f"{tmp_path / 'storage' / '__init__.py'} is a package named 'storage'" in last
    assert "Traceback" not in done.stderr and "died" not in done.stderr
