"""A webhook turn's deadline: Twilio gives up on a webhook after 15 seconds.

The turn runs as its own task; the request waits for it at most ``deadline`` seconds, then
answers without it (503 for a message, the holding prompt for a call) and cancels it. The
request never waits for the cancelled turn to clean up (a black-holed database can make
even that hang): the task finishes in the background, and what it had under way in the
store commits or rolls back whole, never half (SQLite runs a transaction to its end on its
own thread; PostgreSQL rolls back a cancelled one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.errors import StoreError

__all__ = ["Deadlines", "TurnTimeout"]

log = logging.getLogger("switchboard.web")
R = TypeVar("R")


class TurnTimeout(StoreError):
    """A turn did not finish within its deadline (the store stalled): answer 503."""


class Deadlines:
    """Runs turns within a deadline; keeps the abandoned ones until they are done."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._abandoned: set[asyncio.Task[Any]] = set()

    async def run(self, turn: Coroutine[Any, Any, R], what: str) -> R:
        """``await turn`` within the deadline, else :class:`TurnTimeout` (it is cancelled)."""
        loop = asyncio.get_running_loop()
        task = loop.create_task(turn)
        # asyncio.wait(timeout=) without its sets and per-call bookkeeping: one future woken
        # by whichever comes first, the turn or the timer.
        waiter: asyncio.Future[None] = loop.create_future()

        def wake(_: object = None) -> None:
            if not waiter.done():
                waiter.set_result(None)

        task.add_done_callback(wake)
        timer = loop.call_later(self.seconds, wake)
        try:
            await waiter
        except asyncio.CancelledError:  # the client went away: so does the turn
            timer.cancel()
            self._abandon(task)
            raise
        timer.cancel()
        if not task.done():
            self._abandon(task)
            log.error("%s: the turn did not finish within %.1fs (store stalled?); abandoned",
                      what, self.seconds)  # fmt: skip
            raise TurnTimeout(f"the turn did not finish within {self.seconds:g}s")
        return task.result()

    def _abandon(self, task: asyncio.Task[Any]) -> None:
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("an abandoned turn ended with %s", type(task.exception()).__name__)

    @property
    def abandoned(self) -> int:
        """How many abandoned turns are still finishing."""
        return len(self._abandoned)
