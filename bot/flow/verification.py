"""The port flows use to verify a phone number (one-time codes), and what it answers.

:class:`Verifier` is implemented over Twilio Verify by :mod:`bot.outbound.verify` (built by
the composition root, handed to flows as ``turn.verify``). Twilio's error codes are mapped
to outcomes here, once (docs/verify.md cites Twilio's reference for each):

====== ============================================== ==========================
code   Twilio's meaning                               outcome
====== ============================================== ==========================
60200  Invalid parameter (a bad number or channel)    ``INVALID``
60202  Max check attempts reached                     ``CHECKS_EXHAUSTED``
60203  Max send attempts reached                      ``SENDS_EXHAUSTED``
60205  SMS is not supported by landline phone number  ``LANDLINE``
60212  Too many concurrent requests for phone number  ``BUSY``
60223  Delivery channel disabled                      ``CHANNEL_DISABLED``
====== ============================================== ==========================

Switchboard never stores or logs a code: it passes the person's reply to :meth:`check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["ERROR_OUTCOMES", "Checked", "Sent", "Verifier", "VerifyChannel", "VerifyOutcome"]


class VerifyChannel(StrEnum):
    """How the code travels to the person."""

    SMS = "sms"
    WHATSAPP = "whatsapp"
    CALL = "call"


class VerifyOutcome(StrEnum):
    """What a send or a check came to."""

    PENDING = "pending"  # a code is on its way (send), or the code was wrong (check)
    APPROVED = "approved"  # the code was right
    CANCELED = "canceled"
    EXPIRED = "expired"  # no pending verification any more (the code expired: 20404)
    INVALID = "invalid"  # 60200
    CHECKS_EXHAUSTED = "checks_exhausted"  # 60202
    SENDS_EXHAUSTED = "sends_exhausted"  # 60203
    LANDLINE = "landline"  # 60205: send by call instead
    BUSY = "busy"  # 60212
    CHANNEL_DISABLED = "channel_disabled"  # 60223
    RATE_LIMITED = "rate_limited"  # our own per-number limit (SWITCHBOARD_VERIFY_*)
    OPTED_OUT = "opted_out"  # the person sent STOP: no code by message
    UNAVAILABLE = "unavailable"  # Verify unreachable, timed out, or not configured


ERROR_OUTCOMES: dict[int, VerifyOutcome] = {
    20404: VerifyOutcome.EXPIRED,
    60200: VerifyOutcome.INVALID,
    60202: VerifyOutcome.CHECKS_EXHAUSTED,
    60203: VerifyOutcome.SENDS_EXHAUSTED,
    60205: VerifyOutcome.LANDLINE,
    60212: VerifyOutcome.BUSY,
    60223: VerifyOutcome.CHANNEL_DISABLED,
}


@dataclass(frozen=True, slots=True)
class Sent:
    """The answer to a send: ``outcome`` is ``PENDING`` when a code went out."""

    outcome: VerifyOutcome
    channel: VerifyChannel
    code: int | None = None  # Twilio's error code, when it refused

    @property
    def ok(self) -> bool:
        return self.outcome is VerifyOutcome.PENDING


@dataclass(frozen=True, slots=True)
class Checked:
    """The answer to a check: ``APPROVED``, ``PENDING`` (wrong code), or why not."""

    outcome: VerifyOutcome
    code: int | None = None

    @property
    def approved(self) -> bool:
        return self.outcome is VerifyOutcome.APPROVED


class Verifier(Protocol):
    """Sends codes and checks them; never raises for Twilio's answers (they are outcomes)."""

    async def send(self, to: str, channel: VerifyChannel, *, ours: str = "") -> Sent: ...

    async def check(self, to: str, code: str) -> Checked: ...
