"""Configuration of phone verification (Twilio Verify): the service and our own limits.

``TWILIO_VERIFY_SERVICE_SID`` names the Verify service (``VA…``); without it ``turn.verify``
answers ``unavailable``. Credentials and the REST base URL are the outbound ones
(:class:`~bot.outbound.config.Credentials`). ``SWITCHBOARD_VERIFY_MAX_SENDS`` codes per
number in ``SWITCHBOARD_VERIFY_WINDOW_SECONDS`` (default 3 per 15 minutes, stricter than
Verify's own 5 per 10 minutes), counted in the database so the limit holds across instances
and restarts; ``SWITCHBOARD_VERIFY_TIMEOUT`` bounds each Verify request, so a slow Verify
cannot hold a webhook past Twilio's time budget.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import ConfigError

__all__ = ["VerifyConfig"]


@dataclass(frozen=True)
class VerifyConfig:
    """The Verify service and the application-level rate limit per number."""

    service_sid: str | None = None
    max_sends: int = 3
    window_seconds: float = 15 * 60.0
    timeout: float = 4.0  # seconds per Verify request (inside the webhook's budget)

    def __post_init__(self) -> None:
        if self.max_sends < 1 or self.window_seconds <= 0 or self.timeout <= 0:
            raise ConfigError(
                "SWITCHBOARD_VERIFY_MAX_SENDS must be at least 1 and the verify window and "
                "timeout positive"
            )
        if self.service_sid is not None and not self.service_sid.startswith("VA"):
            raise ConfigError(
                f"TWILIO_VERIFY_SERVICE_SID {self.service_sid!r} must be a Verify service SID (VA…)"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> VerifyConfig:
        env = os.environ if env is None else env
        try:
            return cls(
                service_sid=env.get("TWILIO_VERIFY_SERVICE_SID") or None,
                max_sends=int(env.get("SWITCHBOARD_VERIFY_MAX_SENDS") or 3),
                window_seconds=float(env.get("SWITCHBOARD_VERIFY_WINDOW_SECONDS") or 900),
                timeout=float(env.get("SWITCHBOARD_VERIFY_TIMEOUT") or 4),
            )
        except ValueError:
            raise ConfigError("SWITCHBOARD_VERIFY_* must be numbers") from None
