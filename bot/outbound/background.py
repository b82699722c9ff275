"""The background loop the outbox worker, the timer runner and the hand-off notifier share.

A :class:`Background` runs one round after another on the app's event loop: after a round
that found more work than it could take (``round`` returns True) the next starts at once;
otherwise it waits ``poll`` seconds, or until :meth:`Background.wake` is called. A round that
raises is logged with the owner's message and the loop goes on; :meth:`Background.stop`
cancels it (a claimed item's lease lets another process take it over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Background"]


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
            except Exception:
                self._log.exception(self._failed)
                more = False
            if not more:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await self._wake.wait()
                self._wake.clear()
