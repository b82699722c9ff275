"""A circuit breaker for the REST API, so an outage does not burn every message's retries.

Closed, it lets every send through and counts consecutive failures that say "Twilio is
unreachable or broken" (no answer, a network error, HTTP 5xx). After ``threshold`` of them it
opens for ``cooldown`` seconds (doubling on each failed probe, up to ``cap``): meanwhile the
worker hands claimed messages back to the outbox, due when it half-opens, *without* counting
an attempt. Half-open, one message is let through as a probe: success closes the circuit,
failure opens it again. 429s and Twilio's refusals do not count: Twilio answered.

Time is the worker's clock (the fake clock in tests).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["Circuit"]


@dataclass
class Circuit:
    """One breaker per worker (per process): Twilio is one dependency."""

    now: Callable[[], datetime]
    threshold: int = 5
    cooldown: float = 30.0
    cap: float = 300.0
    failures: int = 0
    open_until: datetime | None = None
    _period: float = field(default=0.0, repr=False)
    _probing: bool = field(default=False, repr=False)

    @property
    def is_open(self) -> bool:
        """Whether sends are held back right now (open, or half-open with a probe out)."""
        if self.open_until is None:
            return False
        return self.now() < self.open_until or self._probing

    def admit(self) -> bool:
        """Whether one send may go now; half-open, the first caller becomes the probe."""
        if self.open_until is None:
            return True
        if self.now() < self.open_until or self._probing:
            return False
        self._probing = True
        return True

    def reopens_at(self, rng: random.Random | None = None) -> datetime:
        """When a held message should be looked at again (spread over half a cooldown with
        ``rng``, so held messages do not all come back at once)."""
        spread = timedelta(seconds=rng.uniform(0, self.cooldown / 2) if rng else 0.0)
        if self.open_until is None or self.open_until <= self.now():
            return self.now() + timedelta(seconds=self.cooldown) + spread
        return self.open_until + spread

    def release(self) -> None:
        """The probe admitted last did not go out after all: let another one try."""
        self._probing = False

    def succeeded(self) -> None:
        """Twilio answered: close."""
        self.failures, self.open_until, self._probing, self._period = 0, None, False, 0.0

    def failed(self) -> None:
        """No answer, a network error or a 5xx: count it; open (again) at the threshold."""
        self.failures += 1
        if self.open_until is not None and self.now() < self.open_until and not self._probing:
            return  # already open: requests that were in flight when it opened
        if self._probing or self.failures >= self.threshold:
            self._period = min(self.cap, self._period * 2 if self._period else self.cooldown)
            self.open_until = self.now() + timedelta(seconds=self._period)
            self._probing = False
