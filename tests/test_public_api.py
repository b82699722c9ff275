"""The public surface is what we mean it to be."""

from __future__ import annotations

import importlib

import pytest

import bot
import storage

MODULES = [
    "bot", "bot.actions", "bot.clock", "bot.conditions", "bot.engine", "bot.errors",
    "bot.events", "bot.flow", "bot.locks", "bot.routing", "bot.settings", "bot.signature",
    "bot.status", "bot.turn", "bot.twiml", "bot.web", "bot.testing", "storage",
    "storage.base", "storage.sqlite", "bot.testing.transcript", "bot.testing.runner",
    "bot.compliance", "bot.consent", "bot.gate", "bot.window", "bot.testing.consent",
    "bot.consent_cli", "bot.voice", "bot.voice.answer", "bot.voice.callbacks",
    "bot.voice.conditions", "bot.voice.events", "bot.voice.replies", "bot.voice.reprompt",
    "bot.voice.urls", "bot.voice.verbs", "bot.testing.call", "bot.testing.voice",
    "bot.outbound.app", "bot.outbound.cli", "bot.outbound.compose", "bot.outbound.config",
    "bot.outbound.events", "bot.outbound.intents", "bot.outbound.policy",
    "bot.outbound.ratelimit", "bot.outbound.rest", "bot.outbound.segments",
    "bot.outbound.start", "bot.outbound.status", "bot.outbound.timers", "bot.outbound.worker",
    "bot.testing.fake_twilio", "bot.testing.outbound", "storage.outbox", "storage.sqlite_outbox",
]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_all_and_exports_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.__all__ names missing {exported}"


def test_the_flow_authoring_api_is_at_the_top() -> None:
    for name in ("Flow", "T", "Turn", "Router", "Settings", "create_app", "text_is", "Channel",
                 "pressed", "heard", "reprompt", "VoiceEvent"):  # fmt: skip
        assert name in bot.__all__
    assert {"Store", "SQLiteStore", "open_store"} <= set(storage.__all__)


def test_every_error_derives_from_the_root() -> None:
    for name in bot.errors.__all__:
        assert issubclass(getattr(bot.errors, name), bot.errors.SwitchboardError)


@pytest.mark.parametrize("first", ["storage", "storage.sqlite", "storage.postgres", "bot.testing"])
def test_each_package_imports_first_in_a_fresh_interpreter(first: str) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {first}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
