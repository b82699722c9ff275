"""Per-key asyncio locks whose table shrinks again when a key goes idle."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType

__all__ = ["Both", "KeyedLocks"]


class _Entry:
    """A key held by ``users - 1`` waiters and one holder. ``lock`` is made only when a
    second user comes: a lone turn (nearly every one) holds its key without an asyncio.Lock."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock: asyncio.Lock | None = None
        self.users = 1


class _Hold:
    """``async with`` one key's lock (a class, not a generator: it is on every turn's path)."""

    __slots__ = ("_entries", "_entry", "_key")

    def __init__(self, entries: dict[str, _Entry], key: str) -> None:
        self._entries, self._key = entries, key

    async def __aenter__(self) -> None:
        entry = self._entries.get(self._key)
        if entry is None:  # nobody holds it: ours at once
            self._entry = self._entries[self._key] = _Entry()
            return
        entry.users += 1
        self._entry = entry
        lock = entry.lock
        if lock is None:
            # The holder took the key without a lock: take one for it (free, so this does
            # not wait), then wait behind it; it releases the lock when it leaves.
            lock = entry.lock = asyncio.Lock()
            await lock.acquire()
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: leave the table as it was
            self._leave()
            raise

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._entry.lock is not None:
            self._entry.lock.release()
        self._leave()

    def _leave(self) -> None:
        self._entry.users -= 1
        if self._entry.users == 0:
            del self._entries[self._key]


class KeyedLocks:
    """One FIFO lock per key; a key's entry lives only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def hold(self, key: str) -> _Hold:
        """Hold ``key``'s lock; waiters get it in arrival order (asyncio.Lock is FIFO)."""
        return _Hold(self._entries, key)


class Both:
    """Enter ``first`` then ``second`` under ``timing`` (the turn's ``lock`` phase); leave them
    in reverse. What ``contextlib.AsyncExitStack`` does for two, at a third of its cost."""

    __slots__ = ("_first", "_second", "_timing")

    def __init__(
        self,
        first: AbstractAsyncContextManager[None],
        second: AbstractAsyncContextManager[None],
        timing: AbstractContextManager[None],
    ) -> None:
        self._first, self._second, self._timing = first, second, timing

    async def __aenter__(self) -> None:
        with self._timing:
            await self._first.__aenter__()
            try:
                await self._second.__aenter__()
            except BaseException:
                await self._first.__aexit__(None, None, None)
                raise

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._second.__aexit__(kind, exc, tb)
        finally:
            await self._first.__aexit__(kind, exc, tb)
