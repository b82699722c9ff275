"""Who may operate: named console tokens, compared in constant time, never shown.

``SWITCHBOARD_CONSOLE_TOKEN`` holds one or more named tokens, ``alice=s3cret,bob=0ther``
(a single unnamed token is operator ``operator``). Without any, the console and the admin
API do not exist (404), except in dev mode, where they are open on loopback without a token.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from enum import StrEnum

from bot.errors import ConfigError

__all__ = ["Access", "ConsoleAccess", "parse_tokens"]

_MIN_TOKEN = 16


class Access(StrEnum):
    """Whether the console exists, and how one gets in."""

    OFF = "off"  # no token configured, not dev: 404
    TOKEN = "token"  # a named token in ``Authorization: Bearer …``
    DEV = "dev"  # dev mode without a token: open, on loopback only


def parse_tokens(raw: str) -> tuple[tuple[str, str], ...]:
    """``alice=tok1,bob=tok2`` → ((name, token), …); :class:`ConfigError` names the culprit
    (by position, never by its token)."""
    found: list[tuple[str, str]] = []
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    for n, part in enumerate(parts, start=1):
        name, sep, token = part.partition("=")
        if not sep:
            name, token = "operator", part
        name, token = name.strip(), token.strip()
        if not name.isidentifier():
            raise ConfigError(
                f"SWITCHBOARD_CONSOLE_TOKEN entry {n}: the operator name must be a word "
                "(letters, digits, _), as in alice=<token>"
            )
        if len(token) < _MIN_TOKEN:
            raise ConfigError(
                f"SWITCHBOARD_CONSOLE_TOKEN entry {n} ({name}): use a token of at least "
                f"{_MIN_TOKEN} characters (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(24))'`)"
            )
        if any(name == other for other, _ in found):
            raise ConfigError(f"SWITCHBOARD_CONSOLE_TOKEN names operator {name!r} twice")
        found.append((name, token))
    return tuple(found)


@dataclass(frozen=True)
class ConsoleAccess:
    """The console's tokens (never in ``repr``) and whether dev mode opens it without one."""

    tokens: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    dev: bool = False

    @property
    def mode(self) -> Access:
        if self.tokens:
            return Access.TOKEN
        return Access.DEV if self.dev else Access.OFF

    def operator(self, presented: str | None) -> str | None:
        """The operator whose token ``presented`` is, else ``None``.

        Every configured token is compared, each with :func:`hmac.compare_digest`, so the
        time taken does not say which one (or how much of one) matched."""
        if presented is None:
            return None
        given = presented.encode()
        who = None
        for name, token in self.tokens:
            if hmac.compare_digest(given, token.encode()) and who is None:
                who = name
        return who
