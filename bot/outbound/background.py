"""The background loop the outbox worker, the timer runner and the hand-off notifier share.

A :class:`Background` runs one round after another on the app's event loop: after a round
that found more work than it could take (``round`` returns True) the next starts at once;
otherwise it waits ``poll`` seconds, or until :meth:`Background.wake` is called. A round that
raises is logged with the owner's message and the loop goes on; :meth:`Background.stop`
cancels it (a claimed item's lease lets another process take it over).

A store that is down fails every round, every ``poll`` seconds, for as long as it is down:
a :class:`StoreError` (an outage, not a bug) is one line without a traceback when the
failures begin, one a minute while they last, and one when a round succeeds again. Any
other error is a bug and keeps its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.errors import StoreError

__all__ = ["Background"]

REPEAT_S = 60.0  # while the store stays down, its failure is logged again this often


class Background:
    """One named background task running ``round`` until stopped."""

    def __init__(
        self,
        name: str,
        round: Callable[[], Awaitable[bool]],
        poll: float,
        *,
        log: logging.Logger,
        failed: str,
    ) -> None:
        self.name, self.round, self.poll = name, round, poll
        self._log, self._failed = log, failed
        self._wake = asyncio.Event()
        self._down_since: float | None = None  # monotonic time the store failures began
        self._down_logged = 0.0
        self._down_rounds = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop (once; a second call does nothing)."""
        if self.task is None:
            self.task = asyncio.create_task(self._loop(), name=self.name)

    @property
    def running(self) -> bool:
        """Whether the loop is alive (started, and not ended by an error or a cancel)."""
        return self.task is not None and not self.task.done()

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    def wake(self) -> None:
        """Start the next round now instead of after the poll interval."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                more = await self.round()
            except StoreError as exc:
                self._store_down(exc)
                more = False
            except Exception:
                self._log.exception(self._failed)
                more = False
            else:
                self._store_back()
            if not more:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await self._wake.wait()
                self._wake.clear()

    def _store_down(self, exc: StoreError) -> None:
        now = time.monotonic()
        self._down_rounds += 1
        if self._down_since is None:
            self._down_since = self._down_logged = now
            self._log.error("%s: %s", self._failed, exc)
        elif now - self._down_logged >= REPEAT_S:
            self._down_logged = now
            self._log.error(
                "%s: %s (still failing: %d rounds in %.0f s)",
                self._failed, exc, self._down_rounds, now - self._down_since,
            )  # fmt: skip

    def _store_back(self) -> None:
        if self._down_since is not None:
            self._log.warning(
                "%s: the store answers again after %d failed rounds in %.1f s",
                self.name, self._down_rounds, time.monotonic() - self._down_since,
            )  # fmt: skip
            self._down_since, self._down_rounds = None, 0
