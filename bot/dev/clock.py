"""A clock that moves only when told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock"]

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class FakeClock:
    """Starts at ``start`` (a Monday, 09:00 UTC, by default) and advances on demand."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime (e.g. tzinfo=UTC)")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (a timedelta or seconds); returns the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a clock only moves forward")
        self._now += step
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (not earlier than now)."""
        self.advance(when - self._now)
