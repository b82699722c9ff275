"""Outbound settings: REST credentials and URL, rate limits, retries, segments, the worker."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from bot.errors import ConfigError
from bot.outbound.ratelimit import DEFAULT_RATES
from bot.outbound.verify_config import VerifyConfig
from storage.records import Purpose

__all__ = ["AT_MOST_ONCE", "DEFAULT_API_URL", "Credentials", "OutboundSettings", "Side"]


DEFAULT_API_URL = "https://api.twilio.com"


class Side(StrEnum):
    """Which way an attempt whose outcome cannot be known is settled (see docs/outbound.md)."""

    AT_LEAST_ONCE = "at_least_once"  # not found at Twilio after settling: send again
    AT_MOST_ONCE = "at_most_once"  # not found: ``failed`` as unconfirmed, never sent again


# Marketing (campaigns, reminders marked as such) is never risked twice; what serves the
# person now (replies, codes, consent answers) is never silently lost.
AT_MOST_ONCE = frozenset({Purpose.CAMPAIGN, Purpose.REMINDER})


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to the REST API. ``password`` is never shown."""

    account_sid: str
    username: str
    password: str = field(repr=False)
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
        """Read the ``TWILIO_*`` variables and ``SWITCHBOARD_TWILIO_API_URL``."""
        env = os.environ if env is None else env
        account = env.get("TWILIO_ACCOUNT_SID", "")
        if not account.startswith("AC"):
            raise ConfigError("TWILIO_ACCOUNT_SID must be set (it starts with AC) to send messages")
        key, secret = env.get("TWILIO_API_KEY_SID"), env.get("TWILIO_API_KEY_SECRET")
        if bool(key) != bool(secret):
            raise ConfigError("set both TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET, or neither")
        api_url = env.get("SWITCHBOARD_TWILIO_API_URL") or DEFAULT_API_URL
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"SWITCHBOARD_TWILIO_API_URL {api_url!r} must be an http(s) URL")
        if key and secret:
            return cls(account, key, secret, api_url)
        token = env.get("TWILIO_AUTH_TOKEN")
        if not token:
            raise ConfigError(
                "set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET, to send"
            )
        return cls(account, account, token, api_url)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _rates(raw: str) -> dict[str, float]:
    """``+15550100000=5,whatsapp:+15550100000=20`` → per-sender rates."""
    rates = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        sender, sep, rate = item.rpartition("=")
        try:
            rates[sender] = float(rate)
        except ValueError:
            sep = ""
        if not sep or rates.get(sender, 0) <= 0:
            raise ConfigError(f"SWITCHBOARD_SEND_RATES: {item!r} is not sender=messages_per_second")
    return rates


def _purposes(raw: str | None) -> frozenset[Purpose]:
    """``campaign,reminder`` → the purposes sent at most once (unset: the default)."""
    if raw is None:
        return AT_MOST_ONCE
    try:
        return frozenset(Purpose(p.strip()) for p in raw.split(",") if p.strip())
    except ValueError:
        known = ", ".join(p.value for p in Purpose)
        raise ConfigError(
            f"SWITCHBOARD_AT_MOST_ONCE: {raw!r} must list purposes among {known}"
        ) from None


@dataclass(frozen=True)
class OutboundSettings:
    """How outbound messages are sent. Without ``credentials`` messages wait in the outbox."""

    credentials: Credentials | None = None
    status_callback: str | None = None  # default: the public URL + /twilio/status
    rates: Mapping[str, float] = field(default_factory=dict)  # sender -> messages per second
    default_rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    max_concurrency: int = 10  # REST requests in flight at once
    request_timeout: float = 10.0
    max_attempts: int = 5  # attempts after a transient *delivery* failure (30003, …)
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    # How long transient REST failures (network, 5xx, 429) are retried, from the message's
    # creation, before it is ``failed``; bounded by its purpose's ``validity`` when shorter.
    retry_horizon: float = 6 * 3600.0
    validity: Mapping[Purpose, float] = field(default_factory=dict)  # seconds, per purpose
    # After an attempt with no answer, how long to wait for a late create to show up at
    # Twilio before looking it up, and how far before the attempt the lookup reaches.
    settle_seconds: float = 120.0
    clock_skew: float = 60.0
    lookup_page_size: int = 1000  # Twilio's largest page
    at_most_once: frozenset[Purpose] = AT_MOST_ONCE
    circuit_threshold: int = 5  # consecutive network/5xx failures that open the circuit
    circuit_cooldown: float = 30.0  # first open period; doubles up to backoff_cap
    lease_seconds: float = 120.0
    batch: int = 100
    poll_seconds: float = 1.0
    price_per_segment: Decimal = Decimal("0.0079")
    segment_warning: int = 4  # log a warning for messages of more segments than this
    smart_encoding: bool = False
    worker: bool = True  # run the outbox worker and timer runner in this process
    verify: VerifyConfig = field(default_factory=VerifyConfig)  # Twilio Verify (docs/verify.md)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_concurrency < 1 or self.batch < 1:
            raise ConfigError("max_attempts, max_concurrency and batch must be at least 1")
        if self.circuit_threshold < 1 or self.lookup_page_size < 1:
            raise ConfigError("circuit_threshold and lookup_page_size must be at least 1")
        if self.settle_seconds < self.request_timeout:
            raise ConfigError(
                f"SWITCHBOARD_SETTLE_SECONDS ({self.settle_seconds:g}) must be at least "
                f"SWITCHBOARD_REST_TIMEOUT ({self.request_timeout:g}): a create Twilio accepts "
                "late must have time to show up before the message is looked up"
            )
        if self.lease_seconds < 4 * self.request_timeout:
            # A worker starts a send up to 3/4 into its lease; the send must end inside it,
            # or another worker may claim the message meanwhile and send it too.
            raise ConfigError(
                f"SWITCHBOARD_OUTBOX_LEASE_SECONDS ({self.lease_seconds:g}) must be at least "
                f"4 x SWITCHBOARD_REST_TIMEOUT ({self.request_timeout:g})"
            )

    def side(self, purpose: Purpose) -> Side:
        """How an unconfirmed attempt of a message of ``purpose`` is settled."""
        return Side.AT_MOST_ONCE if purpose in self.at_most_once else Side.AT_LEAST_ONCE

    def horizon(self, purpose: Purpose) -> timedelta:
        """How long after its creation a message of ``purpose`` may still be sent."""
        return timedelta(seconds=min(self.retry_horizon, self.validity.get(purpose, math.inf)))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OutboundSettings:
        """Read ``TWILIO_*`` credentials and the ``SWITCHBOARD_*`` outbound variables."""
        env = os.environ if env is None else env
        has_credentials = env.get("TWILIO_ACCOUNT_SID") and (
            env.get("TWILIO_API_KEY_SID") or env.get("TWILIO_AUTH_TOKEN")
        )
        try:
            price = Decimal(env.get("SWITCHBOARD_PRICE_PER_SEGMENT") or "0.0079")
        except InvalidOperation as exc:
            raise ConfigError("SWITCHBOARD_PRICE_PER_SEGMENT must be a decimal number") from exc
        defaults = dict(DEFAULT_RATES)
        if env.get("SWITCHBOARD_SEND_RATE"):
            rate = _number(env, "SWITCHBOARD_SEND_RATE", 1.0)
            defaults = dict.fromkeys(defaults, rate)
        return cls(
            credentials=Credentials.from_env(env) if has_credentials else None,
            status_callback=env.get("SWITCHBOARD_STATUS_CALLBACK_URL") or None,
            rates=_rates(env.get("SWITCHBOARD_SEND_RATES", "")),
            default_rates=defaults,
            max_concurrency=int(_number(env, "SWITCHBOARD_REST_CONCURRENCY", 10)),
            request_timeout=_number(env, "SWITCHBOARD_REST_TIMEOUT", 10.0),
            max_attempts=int(_number(env, "SWITCHBOARD_SEND_MAX_ATTEMPTS", 5)),
            price_per_segment=price,
            segment_warning=int(_number(env, "SWITCHBOARD_SEGMENT_WARNING", 4)),
            smart_encoding=env.get("SWITCHBOARD_SMART_ENCODING", "") in {"1", "true", "yes"},
            worker=env.get("SWITCHBOARD_OUTBOX_WORKER", "1") not in {"0", "false", "no"},
            lease_seconds=_number(env, "SWITCHBOARD_OUTBOX_LEASE_SECONDS", 120.0),
            poll_seconds=_number(env, "SWITCHBOARD_OUTBOX_POLL_SECONDS", 1.0),
            retry_horizon=_number(env, "SWITCHBOARD_RETRY_HORIZON_SECONDS", 6 * 3600.0),
            settle_seconds=_number(env, "SWITCHBOARD_SETTLE_SECONDS", 120.0),
            at_most_once=_purposes(env.get("SWITCHBOARD_AT_MOST_ONCE")),
            verify=VerifyConfig.from_env(env),
        )
