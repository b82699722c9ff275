"""Test tooling shipped with the framework: transcripts, the pytest plugin, and (re-exported
from the dev layer, :mod:`bot.dev`) the harness, fake clock, fake Twilio and signed requests."""

from __future__ import annotations

import bot.testing.consent  # noqa: F401  (registers the [text] and [proactive] actions)
from bot.dev import (
    TEST_AUTH_TOKEN,
    TEST_PUBLIC_URL,
    AppFactory,
    Call,
    CallError,
    FakeClock,
    FakeTwilio,
    Harness,
    Phone,
    Reply,
    sign,
)
from bot.testing import outbound as _outbound  # noqa: F401 - registers [start] and [wait]
from bot.testing import (
    verify_actions,  # noqa: F401  (registers [code])
    voice,  # noqa: F401  (registers voice caller actions and reply lines)
)
from bot.testing.handoff import Operator  # registers [operator]

# bot.dev's names and Operator, listed (not computed) so mypy --strict sees the re-exports.
__all__ = [
    "TEST_AUTH_TOKEN",
    "TEST_PUBLIC_URL",
    "AppFactory",
    "Call",
    "CallError",
    "FakeClock",
    "FakeTwilio",
    "Harness",
    "Operator",
    "Phone",
    "Reply",
    "sign",
]
