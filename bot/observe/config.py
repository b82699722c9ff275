"""Observability settings, read from the environment with the rest of ``bot.settings``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, cast

from bot.errors import ConfigError

__all__ = ["MAX_DURATION", "LogFormat", "ObserveSettings", "parse_duration"]

LogFormat = Literal["text", "json"]
_ON = {"1", "true", "yes", "on"}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Every caller subtracts a duration from now (or adds it to the dev clock): 100 years keeps
# the result a date that datetime and both stores hold (years 1 to 9999), by a wide margin.
MAX_DURATION = timedelta(days=36500)


def parse_duration(text: str) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``90s``, ``2w`` as a timedelta of at most
    :data:`MAX_DURATION`; ValueError saying why otherwise (a longer one overflowed the date
    arithmetic of its callers: an OverflowError, a 500 in the admin API)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if found is None:
        raise ValueError(f"{text!r} is not a duration like 7d, 12h or 30m")
    seconds = float(found.group(1)) * _UNITS[found.group(2)]  # inf for thousands of digits
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(
            f"{text.strip()!r} is longer than the longest duration, 36500d (100 years)"
        )
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class ObserveSettings:
    """What a process reports about itself (all off by default; docs/observability.md).

    ``metrics`` serves Prometheus metrics on ``/metrics``, behind ``metrics_token`` (a bearer
    token) when set; ``tracing`` makes OpenTelemetry spans (needs the ``otel`` extra) with
    message content ``trace_content`` (``off``, ``hashed`` or ``plain``); ``log_turns`` logs
    one line per turn; ``log_format`` is ``text`` or ``json``; ``log_mask`` masks phone
    numbers in log lines; ``log_content`` adds what was said and answered to the turn line
    (dev mode only, where turn lines are on by default too).
    """

    metrics: bool = False
    metrics_token: str | None = field(default=None, repr=False)
    tracing: bool = False
    trace_content: Literal["off", "hashed", "plain"] = "off"
    log_turns: bool = False
    log_format: LogFormat = "text"
    log_mask: bool = True
    log_content: bool = False

    def __post_init__(self) -> None:
        if self.trace_content not in {"off", "hashed", "plain"}:
            raise ConfigError("SWITCHBOARD_TRACE_CONTENT must be off, hashed or plain")
        if self.log_format not in {"text", "json"}:
            raise ConfigError("SWITCHBOARD_LOG_FORMAT must be json or text")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ObserveSettings:
        """Read the ``SWITCHBOARD_METRICS*``, ``*_TRACING``, ``*_TRACE_CONTENT`` and
        ``*_LOG_*`` variables."""
        log_format = env.get("SWITCHBOARD_LOG_FORMAT", "text").strip().lower() or "text"
        dev = env.get("SWITCHBOARD_DEV", "") in {"1", "true", "yes"}  # as bot.settings reads it
        return cls(
            metrics=env.get("SWITCHBOARD_METRICS", "").lower() in _ON,
            metrics_token=env.get("SWITCHBOARD_METRICS_TOKEN") or None,
            tracing=env.get("SWITCHBOARD_TRACING", "").lower() in _ON,
            trace_content=cast(Literal["off", "hashed", "plain"],
                               env.get("SWITCHBOARD_TRACE_CONTENT", "off").lower()),
            log_turns=env.get("SWITCHBOARD_LOG_TURNS", "1" if dev else "").lower() in _ON,
            log_format=cast(LogFormat, log_format),
            log_mask=env.get("SWITCHBOARD_LOG_MASK", "1").lower() in _ON,
            log_content=dev,
        )  # fmt: skip
