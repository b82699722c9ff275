"""``GET /healthz`` (can this instance take a turn now?) and ``GET /livez`` (is it alive?).

Readiness is the truth about turns: the store takes a write (not read-only, not full, not
stalled), its schema is this code's, the SQLite file is still the one opened (a deleted or
replaced file makes turns 503 too), and the background workers that should run do. A load
balancer routes by ``/healthz``; a process supervisor restarts by ``/livez``, which only says
the process answers (restarting cannot fix a full disk).
"""

from __future__ import annotations

import asyncio

from bot.runtime import Runtime

__all__ = ["PROBE_SECONDS", "liveness", "readiness"]

PROBE_SECONDS = 2.0


async def _store_problems(runtime: Runtime) -> list[str]:
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            return await runtime.store.readiness()
    except TimeoutError:
        return [f"the store did not take a write within {PROBE_SECONDS:g}s"]


def _worker_problems(runtime: Runtime) -> list[str]:
    if not runtime.settings.outbound.worker:
        return []
    problems = []
    if runtime.outbox.sender is not None and not runtime.outbox.running:
        problems.append("the outbox worker is not running")
    if not runtime.timers.running:
        problems.append("the timer runner is not running")
    return problems


async def readiness(runtime: Runtime) -> tuple[dict[str, object], int]:
    """The ``/healthz`` answer: 200 and ``ready`` when a turn can be taken now, else 503
    with every reason it cannot."""
    problems = await _store_problems(runtime) + _worker_problems(runtime)
    if problems:
        return {"status": "unavailable", "problems": problems}, 503
    return {"status": "ok", "store": "writable"}, 200


def liveness() -> tuple[dict[str, str], int]:
    """The ``/livez`` answer: the process and its event loop answer."""
    return {"status": "alive"}, 200
