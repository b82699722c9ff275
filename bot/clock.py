"""Time as the framework sees it: one ``now()`` in UTC, replaceable by a fake in tests.

A dev server (``switchboard serve --dev``) runs on a :class:`ShiftedClock`: the wall clock
plus an offset that ``POST /dev/clock`` (``switchboard dev clock --advance 2h``) moves
forward, so timers can be seen firing without waiting. Production runs on
:class:`SystemClock`, and has no way to move it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

__all__ = ["Clock", "ShiftedClock", "SystemClock"]


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The wall clock moved forward by :attr:`offset` (dev mode only).

    With ``shared``, a file, the offset is kept there: every worker of one dev server reads
    it (again only when the file changed), and a worker restarted by ``--reload`` keeps the
    time line it had. Without it, the offset is this process's own.
    """

    def __init__(self, shared: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(shared) if shared else None
        self._offset = timedelta(0)
        self._stamp: tuple[int, int, int] | None = None  # the file as last read

    @property
    def offset(self) -> timedelta:
        """How far ahead of the wall clock this clock runs."""
        if self._path is not None:
            self._read(self._path)
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward by ``by`` (never back: stored times stay in order);
        returns the new now."""
        if by < timedelta(0):
            raise ValueError("the dev clock only moves forward")
        offset = self.offset + by
        try:
            datetime.now(UTC) + offset
        except OverflowError:  # checked before it moves: every now() after would raise
            raise ValueError("the dev clock cannot go past the year 9999") from None
        self._offset = offset
        if self._path is not None:
            scratch = self._path.with_name(self._path.name + f".{os.getpid()}")
            scratch.write_text(f"{self._offset.total_seconds()!r}\n", "utf-8")
            scratch.replace(self._path)  # readers see the old offset or the new, never half
        return self.now()

    def _read(self, path: Path) -> None:
        try:
            seen = path.stat()
            stamp = (seen.st_ino, seen.st_mtime_ns, seen.st_size)
            if stamp != self._stamp:
                self._offset = timedelta(seconds=float(path.read_text("utf-8")))
                self._stamp = stamp
        except (OSError, ValueError):
            pass  # no file yet (nothing advanced), or one being replaced: keep what we had
