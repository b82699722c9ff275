"""Which send failures are retried, how long to wait, and what a permanent one means.

From Twilio's error dictionary (wire contract §10): 20429 (too many requests, honour
``Retry-After``), 63018 (channel rate limit), 30003 (handset unreachable), 30008 (unknown
carrier error), HTTP 5xx and network errors are transient and retried with exponential
backoff and jitter, a bounded number of times. Everything else Twilio refuses is
permanent; some permanent codes also say something about the recipient.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.errors import RestError

__all__ = ["Backoff", "Consequence", "consequence", "is_transient"]

TRANSIENT_CODES = frozenset({20429, 63018, 30003, 30008})


class Consequence(StrEnum):
    """What a permanent error says beyond "this message failed"."""

    NONE = "none"
    OPTED_OUT = "opted_out"  # 21610: the person texted STOP to the carrier → consent ledger
    UNDELIVERABLE = "undeliverable"  # 21211, 21614, 30005, 30006: stop sending to the number
    WINDOW_CLOSED = "window_closed"  # 63016: the WhatsApp 24-hour window is closed


_CONSEQUENCES = {
    21610: Consequence.OPTED_OUT,
    21211: Consequence.UNDELIVERABLE,
    21614: Consequence.UNDELIVERABLE,
    30005: Consequence.UNDELIVERABLE,
    30006: Consequence.UNDELIVERABLE,
    63016: Consequence.WINDOW_CLOSED,
}


def consequence(code: int | None) -> Consequence:
    """What a permanent error ``code`` means for the recipient."""
    return _CONSEQUENCES.get(code or 0, Consequence.NONE)


def is_transient(code: int | None, error: RestError | None = None) -> bool:
    """Whether a failure with Twilio ``code`` (or this REST error) may succeed if retried."""
    if code in TRANSIENT_CODES:
        return True
    if error is None:
        return False
    if error.status is None:  # no HTTP answer at all: timeout or network error
        return True
    return error.status == 429 or error.status >= 500


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits ½–1 × ``base * 2**(n-1)``, capped."""

    base: float = 2.0
    cap: float = 300.0
    max_attempts: int = 5
    rng: random.Random = random.Random()  # noqa: RUF009 - one shared generator is intended

    def delay(self, attempt: int, retry_after: float | None = None) -> timedelta:
        """How long to wait before attempt ``attempt + 1``; at least ``retry_after``."""
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        wait = self.rng.uniform(ceiling / 2, ceiling)
        return timedelta(seconds=max(wait, retry_after or 0.0))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
