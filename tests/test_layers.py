"""The shape holds: one-way layers, a light public API, storage free of bot (issue 10)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bot

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("quart", "hypercorn", "aiohttp", "twilio.rest", "twilio.http", "asyncpg")


def _loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement`` (from /)."""
    script = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


@pytest.mark.parametrize(
    "statement", ["import bot", "from bot import Flow, T, Turn", "from bot import reprompt"]
)
def test_the_flow_authoring_api_loads_no_server_or_rest_client(statement: str) -> None:
    assert _heavy(_loaded_after(statement)) == set()


def test_storage_imports_no_bot_module() -> None:
    loaded = _loaded_after("import storage, storage.records, storage.base, storage.url")
    assert {m for m in loaded if m == "bot" or m.startswith("bot.")} == set()


BUILDS_NO_APP = """
import importlib, pkgutil, quart
built = []
original = quart.Quart.__init__
def counting(self, *args, **kwargs):
    built.append(args)
    original(self, *args, **kwargs)
quart.Quart.__init__ = counting
for package in ("bot", "storage", "flows"):
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
print(len(built))
"""


def test_importing_an_installed_module_builds_no_app() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BUILDS_NO_APP], capture_output=True, text=True, timeout=120,
        cwd="/",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"]
    # and the repository's app.py is not installed as a top-level module
    assert "app" not in _loaded_after("import importlib.util; importlib.util.find_spec('app')")
    lookup = "import importlib.util; print(importlib.util.find_spec('app'))"
    found = subprocess.run([sys.executable, "-c", lookup], capture_output=True, text=True, cwd="/")
    assert found.stdout.strip() == "None"


def test_every_public_name_of_bot_resolves_and_is_declared_once() -> None:
    exports = bot._EXPORTS
    assert sorted(bot.__all__) == sorted(exports)
    for name in bot.__all__:
        assert getattr(bot, name) is not None
    with pytest.raises(AttributeError):
        bot.NoSuchName  # noqa: B018


def test_internals_are_not_in_the_public_api() -> None:
    for internal in ("Engine", "CompiledFlow", "ConversationKey", "Action", "Gate"):
        assert internal not in bot.__all__


def test_the_layering_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    if lint is None:
        pytest.fail("lint-imports is missing: pip install -e '.[test]' installs import-linter")
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_dev_layer_loads_no_test_framework() -> None:
    """`serve --dev` and `switchboard chat` run bot.dev in a user's environment, without pytest."""
    loaded = _loaded_after("import bot.dev, bot.dev.harness, bot.dev.fake_twilio")
    assert {m for m in loaded if m.split(".")[0] in ("pytest", "_pytest", "hypothesis")} == set()
    assert "bot.testing" not in loaded
