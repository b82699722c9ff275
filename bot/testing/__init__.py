"""Test tooling shipped with the framework: fake clock, signed requests, transcripts."""

from __future__ import annotations

import bot.testing.consent  # noqa: F401  (registers the [text] and [proactive] actions)
from bot.testing import outbound as _outbound  # noqa: F401 - registers [start] and [wait]
from bot.testing import (
    verify_actions,  # noqa: F401  (registers [code])
    voice,  # noqa: F401  (registers voice caller actions and reply lines)
)
from bot.testing.call import Call, CallError
from bot.testing.clock import FakeClock
from bot.testing.fake_twilio import FakeTwilio
from bot.testing.handoff import Operator  # registers [operator]
from bot.testing.harness import AppFactory, Harness, Phone
from bot.testing.reply import Reply
from bot.testing.signing import TEST_AUTH_TOKEN, TEST_PUBLIC_URL, sign

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
