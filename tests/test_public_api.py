"""The public surface is what we mean it to be."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bot
import storage


def _modules(*packages: str) -> list[str]:
    """Every module of the shipped packages, found on disk (not a hand-kept list)."""
    found = []
    for package in packages:
        root = importlib.import_module(package)
        found.append(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
            if not info.name.endswith("__main__"):
                found.append(info.name)
    return sorted(found)


MODULES = _modules("bot", "storage", "flows")


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


def test_a_subflow_outcome_and_a_verification_outcome_are_two_names() -> None:
    # Issue 15: both were called Outcome; a subflow's exit is bot.Outcome, what a code send
    # or check came to is bot.VerifyOutcome.
    assert bot.Outcome is importlib.import_module("bot.flow.subflow").Outcome
    assert bot.VerifyOutcome is importlib.import_module("bot.flow.verification").VerifyOutcome
    assert not hasattr(importlib.import_module("bot.flow.verification"), "Outcome")
    assert {o.value for o in bot.Outcome} == {"completed", "failed", "expired"}


def test_every_error_derives_from_the_root() -> None:
    for name in bot.errors.__all__:
        assert issubclass(getattr(bot.errors, name), bot.errors.SwitchboardError)


@pytest.mark.parametrize("first", ["storage", "storage.sqlite", "storage.postgres", "bot.testing"])
def test_each_package_imports_first_in_a_fresh_interpreter(first: str) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {first}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
