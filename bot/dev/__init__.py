"""The dev layer: what a developer runs against instead of Twilio, shipped with the framework.

A fake Twilio REST API (:class:`FakeTwilio`, with Verify) on 127.0.0.1, request signing with
the real ``RequestValidator`` (:func:`sign`), a clock that moves only when told
(:class:`FakeClock`), and the real app run in process (:class:`Harness`) driven by a
:class:`Phone` or a :class:`Call`. ``serve --dev`` and ``switchboard chat`` use it; tests
reach it through :mod:`bot.testing`, which re-exports these names. Nothing here imports pytest.
"""

from __future__ import annotations

from bot.dev.call import Call, CallError
from bot.dev.clock import FakeClock
from bot.dev.fake_twilio import FakeTwilio
from bot.dev.harness import AppFactory, Harness, Phone
from bot.dev.reply import Reply
from bot.dev.signing import TEST_AUTH_TOKEN, TEST_PUBLIC_URL, sign

__all__ = [
    "TEST_AUTH_TOKEN",
    "TEST_PUBLIC_URL",
    "AppFactory",
    "Call",
    "CallError",
    "FakeClock",
    "FakeTwilio",
    "Harness",
    "Phone",
    "Reply",
    "sign",
]
