"""Token buckets per sender: never faster than the configured rate, at full rate when busy.

Each sender's bucket hands out send slots spaced ``1 / rate`` seconds apart (a token bucket
of depth ``burst``, one by default, which is what "never above the rate" over any window
needs). Time is the event loop's monotonic clock, not the conversation clock: rate limits are
about requests per real second.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_RATES", "RateLimits", "TokenBucket", "number_type"]

# Messages per second Twilio allows by default for each kind of sender.
DEFAULT_RATES: Mapping[str, float] = {
    "long_code": 1.0,  # a US/Canada 10-digit number (10DLC throughput starts here)
    "toll_free": 3.0,
    "short_code": 100.0,
    "whatsapp": 80.0,
    "messaging_service": 10.0,
}
_TOLL_FREE = re.compile(r"^\+18(00|33|44|55|66|77|88)\d{7}$")


def number_type(sender: str) -> str:
    """``long_code``, ``toll_free``, ``short_code``, ``whatsapp`` or ``messaging_service``."""
    if sender.startswith("whatsapp:"):
        return "whatsapp"
    if sender.startswith("MG"):
        return "messaging_service"
    if sender.isdigit() and 3 <= len(sender) <= 8:
        return "short_code"
    if _TOLL_FREE.match(sender):
        return "toll_free"
    return "long_code"


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up.

    Waiters are served in arrival order, one at a time, on a fixed cadence of slots
    ``1 / rate`` apart (slightly more: ``margin`` keeps timing noise from ever measuring
    above the rate). A grant that comes later than its slot by more than ``slack`` (a
    stalled event loop) restarts the cadence from when it happened, so a stall delays sends
    but never lets them catch up in a burst; within ``slack`` the cadence is kept, so the
    loop's scheduling latency does not slow the sustained rate.
    """

    def __init__(
        self, rate: float, burst: int = 1, margin: float = 0.01, slack: float = 0.05
    ) -> None:
        if rate <= 0 or burst < 1 or not 0 <= margin < 0.5:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.interval = (1.0 + margin) / rate
        self.burst = burst
        self.slack = slack
        self._next = 0.0  # loop time at which the next token is free
        self._lock = asyncio.Lock()

    def reserve(self, now: float) -> float:
        """Take the next token at ``now``; returns how long to wait before using it."""
        earliest = now - (self.burst - 1) * self.interval
        slot = max(self._next, earliest)
        self._next = slot + self.interval
        return max(0.0, slot - now)

    def granted(self, at: float) -> None:
        """The token reserved last was used at ``at``; a late grant restarts the cadence."""
        slot = self._next - self.interval
        if at - slot > self.slack:
            self._next = at + self.interval

    async def acquire(self) -> None:
        """Wait for a token."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            delay = self.reserve(loop.time())
            if delay > 0:
                await asyncio.sleep(delay)
            self.granted(loop.time())


@dataclass
class RateLimits:
    """One bucket per sender: an explicit rate, or the default for the sender's number type."""

    rates: Mapping[str, float] = field(default_factory=dict)
    defaults: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    burst: int = 1
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, repr=False)

    def rate_for(self, sender: str) -> float:
        if sender in self.rates:
            return self.rates[sender]
        return self.defaults.get(number_type(sender), DEFAULT_RATES[number_type(sender)])

    def bucket(self, sender: str) -> TokenBucket:
        found = self._buckets.get(sender)
        if found is None:
            found = self._buckets[sender] = TokenBucket(self.rate_for(sender), self.burst)
        return found

    async def acquire(self, sender: str) -> None:
        """Wait until ``sender`` may send one more message."""
        await self.bucket(sender).acquire()

    def backlog(self, sender: str, now: float) -> float:
        """Seconds of already reserved sends ``sender`` has ahead of it."""
        bucket = self._buckets.get(sender)
        return max(0.0, bucket._next - now) if bucket else 0.0
