"""A held conversation on PostgreSQL: one transaction from the lock to the turn's COMMIT.

:meth:`PostgresStore.hold` opens a transaction and takes a transaction-scoped advisory lock
on the conversation in the same round trip (``BEGIN; SELECT pg_advisory_xact_lock(n)``, one
simple query: the lock id is an integer computed here, so nothing is quoted into the SQL).
The turn's load, contact and commit statement run inside it; the commit's ``COMMIT`` makes
the turn durable and lets go of the lock in the same step, so the next holder's load sees
the turn. A turn is five round trips (lock, load, contact, commit statement, COMMIT) where a
session lock, ``BEGIN`` and the pool's reset query made seven.

A commit that must not stand (a duplicate, a version or consent conflict, an error) rolls
the whole transaction back and takes the lock again in one round trip
(``ROLLBACK; BEGIN; SELECT pg_advisory_xact_lock(n)``), so the caller still holds the
conversation when it loads again. A statement run in the hold after the turn's COMMIT (an
operator action's audit entry) takes the lock again; leaving the hold commits what is still
open, as each such statement committed on its own before, unless a turn's write was cut
short (cancelled between its statement and its COMMIT): that is rolled back, never half
written.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

import asyncpg

__all__ = ["Held", "lock_id"]


def lock_id(name: str) -> int:
    """A signed 64-bit advisory lock id for ``name`` (the same in every process)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class Held:
    """The conversation a task holds, the connection it holds it on, and its lock id."""

    key: str
    conn: asyncpg.Connection
    lock: int
    writing: bool = False  # a turn's write is under way: only its COMMIT may keep it

    def usable(self) -> bool:
        """Whether the connection is still open (and still ours: the pool takes back, and
        detaches, a connection it saw die)."""
        try:
            return not self.conn.is_closed()
        except asyncpg.InterfaceError:
            return False

    @property
    def _take(self) -> str:
        return f"BEGIN; SELECT pg_advisory_xact_lock({self.lock})"

    async def begin(self) -> None:
        """Open the transaction and wait for the lock (one round trip)."""
        await self.conn.execute(self._take)

    async def commit(self) -> None:
        """Make the turn durable and let go of the conversation."""
        await self.conn.execute("COMMIT")
        self.writing = False

    async def again(self) -> None:
        """Undo the open transaction and hold the conversation again (one round trip)."""
        if self.conn.is_in_transaction():
            await self.conn.execute(f"ROLLBACK; {self._take}")
        else:
            await self.begin()
        self.writing = False

    async def end(self) -> None:
        """Commit what is still open (nothing after a turn's commit; reads, or statements run
        after it), or roll back a turn's write cut short. A connection that cannot (its
        statement timed out, the server went away) is closed: the pool opens another, and the
        error that got us here has already been raised to the caller. (COMMIT of a transaction
        a failed statement aborted is a rollback.)"""
        if not self.usable() or not self.conn.is_in_transaction():
            return
        try:
            await self.conn.execute("ROLLBACK" if self.writing else "COMMIT")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            # InterfaceError: the pool already took back a connection it saw die.
            with contextlib.suppress(asyncpg.InterfaceError):
                self.conn.terminate()
