"""What every ``switchboard`` command shares: one-line failures and the database URL."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.errors import SwitchboardError

__all__ = ["DEFAULT_DATABASE_URL", "Commands", "database_url", "fail", "run_async"]

DEFAULT_DATABASE_URL = "sqlite:///switchboard.db"
# The subparsers each command module adds itself to.
if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Commands = argparse._SubParsersAction


def fail(message: str) -> int:
    """Print ``switchboard: message`` on stderr; the exit status of a command that failed."""
    print(f"switchboard: {message}", file=sys.stderr)
    return 2


def database_url(args: argparse.Namespace) -> str:
    """``--database``, else ``SWITCHBOARD_DATABASE_URL``, else the default SQLite file."""
    given: str | None = getattr(args, "database", None)
    return given or os.environ.get("SWITCHBOARD_DATABASE_URL") or DEFAULT_DATABASE_URL


def run_async(
    fn: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
) -> Callable[[argparse.Namespace], int]:
    """A command's ``run`` from a coroutine: exit 2 with one line on an expected error."""

    def run(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(fn(args))
        except (SwitchboardError, ValueError, OSError) as exc:
            return fail(str(exc))

    return run
