"""Settings, read once from the environment and checked when built."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.admin.auth import ConsoleAccess, parse_tokens
from bot.engine.engine import DEFAULT_APOLOGY
from bot.errors import ConfigError
from bot.observe.config import ObserveSettings
from bot.outbound.config import OutboundSettings
from bot.outbound.notices import NoticeSettings

__all__ = ["BANNER_SHOWN", "Settings"]

# Set by `switchboard serve`, which warns about dev mode once before starting its workers,
# so each worker need not warn again.
BANNER_SHOWN = "SWITCHBOARD_DEV_BANNER_SHOWN"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_ACCOUNT = re.compile(r"AC[0-9a-fA-F]{32}")


def _seconds(env: Mapping[str, str], name: str, default: str) -> float:
    try:
        return float(env.get(name, default))
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds") from exc


def _basic(env: Mapping[str, str]) -> tuple[str, str] | None:
    user = env.get("SWITCHBOARD_WEBHOOK_USER", "")
    password = env.get("SWITCHBOARD_WEBHOOK_PASSWORD", "")
    return (user, password) if user or password else None


def _networks(raw: str) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in raw.split(",") if p)
    except ValueError as exc:
        raise ConfigError(f"SWITCHBOARD_TRUSTED_PROXIES: {exc}") from exc


@dataclass(frozen=True)
class Settings:
    """How one Switchboard process runs. Build with :meth:`from_env` or directly in tests.

    ``auth_token`` and ``webhook_auth`` are never shown in ``repr`` or in error messages.
    ``account_sid`` (``TWILIO_ACCOUNT_SID``) refuses requests for other accounts;
    ``webhook_auth`` (``SWITCHBOARD_WEBHOOK_USER``/``_PASSWORD``) requires HTTP Basic auth on
    the webhooks; ``turn_deadline`` bounds a webhook turn's store work (503 after it).
    """

    auth_token: str | None = field(default=None, repr=False)
    public_url: str | None = None
    database_url: str = "sqlite:///switchboard.db"
    dev: bool = False
    trusted_proxies: tuple[Network, ...] = ()
    max_body_bytes: int = 64 * 1024
    apology: str = DEFAULT_APOLOGY
    compliance_file: str | None = None  # JSON for bot.compliance.Compliance.from_file
    voice_budget: float = 3.0
    voice_hold_prompt: str = "Please hold on a moment."
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    # SWITCHBOARD_CONSOLE_TOKEN as (operator, token) pairs: the console and admin API
    console_tokens: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    console_poll: float = 1.0  # seconds between the live stream's looks at the store
    account_sid: str | None = None  # when set, requests for other accounts are refused (403)
    webhook_auth: tuple[str, str] | None = field(default=None, repr=False)  # HTTP Basic
    turn_deadline: float = 10.0  # seconds a webhook turn may spend on the store
    # SWITCHBOARD_HANDOFF_*: the signed webhook about hand-offs (off without a URL)
    handoff_notices: NoticeSettings = field(default_factory=NoticeSettings)
    observe: ObserveSettings = field(default_factory=ObserveSettings)
    # dev mode: where the dev clock's offset is shared by the workers of one `serve --dev`
    # (SWITCHBOARD_DEV_CLOCK_FILE, set by it; bot.clock.ShiftedClock)
    dev_clock_file: str | None = None

    def __post_init__(self) -> None:
        if not self.auth_token and not self.dev:
            raise ConfigError(
                "TWILIO_AUTH_TOKEN is not set, so webhook signatures cannot be checked. "
                "Set it, or run `switchboard serve --dev` to accept unsigned requests locally."
            )
        if self.public_url:
            parts = urlsplit(self.public_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ConfigError(
                    f"SWITCHBOARD_PUBLIC_URL {self.public_url!r} must look like "
                    "https://hooks.example.com (scheme and host, optional path prefix)"
                )
            if parts.query or parts.fragment or "?" in self.public_url:
                raise ConfigError(
                    f"SWITCHBOARD_PUBLIC_URL {self.public_url!r} has a query string or fragment: "
                    "give the origin (and any path prefix) alone; each request's path follows it"
                )
        if not 0.01 <= self.voice_budget <= 12:
            raise ConfigError(
                "SWITCHBOARD_VOICE_BUDGET must be from 0.01 to 12 seconds (Twilio hangs up at 15)"
            )
        if not self.voice_hold_prompt.strip():
            raise ConfigError("SWITCHBOARD_VOICE_HOLD_PROMPT must not be empty")
        if self.account_sid is not None and not _ACCOUNT.fullmatch(self.account_sid):
            raise ConfigError("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits")
        if self.webhook_auth is not None and not all(self.webhook_auth):
            raise ConfigError(
                "set both SWITCHBOARD_WEBHOOK_USER and SWITCHBOARD_WEBHOOK_PASSWORD, or neither"
            )
        if self.webhook_auth is not None and ":" in self.webhook_auth[0]:
            raise ConfigError(  # Basic auth splits "user:password" at the first colon (RFC 7617)
                "SWITCHBOARD_WEBHOOK_USER must not contain ':' (Basic auth could never match it)"
            )
        if not 0.1 <= self.turn_deadline <= 14:
            raise ConfigError(
                "SWITCHBOARD_TURN_DEADLINE must be from 0.1 to 14 seconds (Twilio gives up at 15)"
            )
        if self.max_body_bytes < 1024:
            raise ConfigError("SWITCHBOARD_MAX_BODY_BYTES must be at least 1024")

    @property
    def console(self) -> ConsoleAccess:
        """Who may use the console and the admin API (off without tokens, unless dev)."""
        return ConsoleAccess(self.console_tokens, self.dev)

    @property
    def verify_signatures(self) -> bool:
        """False only in dev mode without a token."""
        return bool(self.auth_token)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``TWILIO_AUTH_TOKEN``, ``TWILIO_ACCOUNT_SID`` and ``SWITCHBOARD_*``."""
        env = os.environ if env is None else env
        try:
            max_body = int(env.get("SWITCHBOARD_MAX_BODY_BYTES", str(64 * 1024)))
        except ValueError as exc:
            raise ConfigError("SWITCHBOARD_MAX_BODY_BYTES must be a whole number") from exc
        try:
            budget = float(env.get("SWITCHBOARD_VOICE_BUDGET", "3"))
        except ValueError as exc:
            raise ConfigError("SWITCHBOARD_VOICE_BUDGET must be a number of seconds") from exc
        return cls(
            auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            public_url=env.get("SWITCHBOARD_PUBLIC_URL") or None,
            database_url=env.get("SWITCHBOARD_DATABASE_URL") or "sqlite:///switchboard.db",
            dev=env.get("SWITCHBOARD_DEV", "") in {"1", "true", "yes"},
            trusted_proxies=_networks(env.get("SWITCHBOARD_TRUSTED_PROXIES", "")),
            max_body_bytes=max_body,
            apology=env.get("SWITCHBOARD_APOLOGY") or DEFAULT_APOLOGY,
            compliance_file=env.get("SWITCHBOARD_COMPLIANCE_FILE") or None,
            voice_budget=budget,
            voice_hold_prompt=env.get("SWITCHBOARD_VOICE_HOLD_PROMPT")
            or "Please hold on a moment.",
            outbound=OutboundSettings.from_env(env),
            console_tokens=parse_tokens(env.get("SWITCHBOARD_CONSOLE_TOKEN", "")),
            account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            webhook_auth=_basic(env),
            turn_deadline=_seconds(env, "SWITCHBOARD_TURN_DEADLINE", "10"),
            handoff_notices=NoticeSettings.from_env(env),
            observe=ObserveSettings.from_env(env),
            dev_clock_file=env.get("SWITCHBOARD_DEV_CLOCK_FILE") or None,
        )
