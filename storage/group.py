"""Group commit: turns that wait to be written at the same moment share one transaction.

Under load, many requests finish their step while one commit is in flight. Instead of each
taking its own hop and its own transaction (and writing the same WAL pages again: the tail
pages of the message log and of the idempotency index), the writes that queued up meanwhile
go to the database together, one SAVEPOINT each, in one transaction. Each caller still gets
its answer only after that transaction committed; a lone request is written at once, as
before (nothing waits for company).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

W = TypeVar("W")
R = TypeVar("R")


class GroupCommit(Generic[W, R]):
    """Queue ``submit(item)`` calls and run them in batches through ``write_batch``.

    ``write_batch(items)`` returns one outcome per item: a result, or an exception that the
    item's submitter gets raised. If ``write_batch`` itself raises, every submitter of that
    batch gets the error.
    """

    def __init__(self, write_batch: Callable[[list[W]], Awaitable[Sequence[R | BaseException]]]):
        self._write_batch = write_batch
        self._pending: list[tuple[W, asyncio.Future[R]]] = []
        self._flushing = False
        self._flusher: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """Whether a batch is being written or waits to be."""
        return self._flushing

    async def submit(self, item: W) -> R:
        """Write ``item`` in the next batch; its outcome once that batch is committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._flushing:
            self._flushing = True
            self._flusher = asyncio.ensure_future(self._flush())
        return await asyncio.shield(future)  # a cancelled request's write still completes

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    outcomes = await self._write_batch([item for item, _ in batch])
                except BaseException as exc:  # handed to every submitter of the batch
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._flushing = False
