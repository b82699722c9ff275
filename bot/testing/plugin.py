"""pytest plugin (entry point ``pytest11: switchboard``): ``*.transcript`` files are tests.

Each transcript is replayed through the app built by the factory named in the ini option
``switchboard_app`` (default ``flows:build``), on a fresh SQLite database, with a fake clock.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bot.dev.harness import AppFactory

# The framework is imported lazily, inside the hooks: a pytest11 plugin is imported before
# assertion rewriting is set up, and importing the app's modules here would make pytest warn
# that it cannot rewrite them.

__all__ = ["TranscriptFile", "TranscriptItem"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "switchboard_app",
        "module:callable building the app for transcripts: f(settings, *, store, clock)",
        default="flows:build",
    )


# Deprecations raised inside dependencies, not by a user's code: the twilio client still
# passes aiohttp's BasicAuth (deprecated in aiohttp 3.14). Kept out of users' test output.
_DEPENDENCY_WARNINGS = (
    "ignore:BasicAuth is deprecated:DeprecationWarning",
    "ignore:The 'auth' parameter is deprecated:DeprecationWarning",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in _DEPENDENCY_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".transcript":
        return TranscriptFile.from_parent(parent, path=file_path)
    return None


def load_factory(spec: str) -> AppFactory:
    """Import ``module:callable``."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise pytest.UsageError(f"switchboard_app = {spec!r}: use module:callable")
    try:
        factory: AppFactory = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        raise pytest.UsageError(f"switchboard_app = {spec!r}: no module {exc.name!r}") from None
    except AttributeError:
        raise pytest.UsageError(f"switchboard_app = {spec!r}: {module} has no {name!r}") from None
    return factory


class TranscriptFile(pytest.File):
    """One ``.transcript`` file: a single test."""

    def collect(self) -> Iterator[pytest.Item]:
        yield TranscriptItem.from_parent(self, name=self.path.stem)


class TranscriptItem(pytest.Item):
    """Replays one transcript; a mismatch prints the turn, the expected and the actual reply."""

    def runtest(self) -> None:
        from bot.testing.runner import Runner
        from bot.testing.transcript import parse

        transcript = parse(self.path.read_text(encoding="utf-8"), str(self.path))
        factory = load_factory(str(self.config.getini("switchboard_app")))
        asyncio.run(Runner(transcript, factory).run())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from bot.errors import SwitchboardError
        from bot.testing.runner import TranscriptMismatch
        from bot.testing.transcript import TranscriptSyntaxError

        if isinstance(excinfo.value, TranscriptMismatch | TranscriptSyntaxError):
            return str(excinfo.value)
        if isinstance(excinfo.value, SwitchboardError):  # a broken flow, a bad configuration
            spec = self.config.getini("switchboard_app")
            return f"{self.path}: the app ({spec}) could not be built: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"transcript {self.name}"
