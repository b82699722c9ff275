"""Shared by the webhook fuzz tests: a started app on a private loop, and the 5xx check."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from bot.testing import Harness

Running = tuple[asyncio.AbstractEventLoop, Harness]


@contextmanager
def started(harness: Harness) -> Iterator[Running]:
    """Start ``harness`` on a loop of its own, for hypothesis tests (which are synchronous)."""
    loop = asyncio.new_event_loop()
    loop.run_until_complete(harness.__aenter__())
    try:
        yield loop, harness
    finally:
        loop.run_until_complete(harness.__aexit__(None, None, None))
        loop.close()


def assert_no_server_error(running: Running, path: str, params: Sequence[tuple[str, str]]) -> None:
    """Post ``params`` signed to ``path``: the answer must be below 500 and show no traceback."""
    loop, harness = running
    reply = loop.run_until_complete(harness.post(path, params))
    assert reply.status < 500, (path, params, reply.status, reply.body)
    assert "Traceback" not in reply.body
