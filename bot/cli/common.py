"""What every ``switchboard`` command shares: one-line failures and the database it uses.

A command that only reads or changes data never creates a database: :func:`opened_store`
refuses a SQLite file that does not exist, naming the file it looked for and where the URL
came from, instead of creating an empty one and failing later.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError, SwitchboardError
from storage.protocols import Store
from storage.url import open_store, redact, sqlite_path

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Commands",
    "add_database",
    "database_url",
    "fail",
    "import_target",
    "opened_store",
    "require_database",
    "run_async",
]

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


def import_target(spec: str) -> Any:
    """The object ``--app module:attribute`` names, the module found from the current
    directory as ``serve --app`` finds it; :class:`ValueError` in one line saying what to do."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(f"--app {spec!r}: use module:attribute (e.g. app:app)")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        return getattr(importlib.import_module(module), attr)
    except SwitchboardError:
        raise  # a flow that does not compile, settings missing: already one clear line
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise ValueError(f"cannot load the app {spec!r}: {type(exc).__name__}: {exc}") from exc
        raise ValueError(
            f"cannot load the app {spec!r}: no module {exc.name!r} in {Path.cwd()} or installed: "
            "run this from your project's directory, or pass --app package.module:app"
        ) from exc
    except AttributeError:
        raise ValueError(f"cannot load the app {spec!r}: {module} has no {attr!r}") from None
    except Exception as exc:  # whatever importing the app raised: one line, no traceback
        raise ValueError(f"cannot load the app {spec!r}: {type(exc).__name__}: {exc}") from exc


def add_database(parser: argparse.ArgumentParser) -> None:
    """The ``--database URL`` option every command that uses a database takes."""
    parser.add_argument(
        "--database",
        default=argparse.SUPPRESS,
        help="database URL (default: $SWITCHBOARD_DATABASE_URL, else sqlite:///switchboard.db)",
    )


def database_url(args: argparse.Namespace) -> str:
    """``--database``, else ``SWITCHBOARD_DATABASE_URL``, else the default SQLite file."""
    given: str | None = getattr(args, "database", None)
    return given or os.environ.get("SWITCHBOARD_DATABASE_URL") or DEFAULT_DATABASE_URL


def _source(args: argparse.Namespace) -> str:
    if getattr(args, "database", None):
        return "--database"
    if os.environ.get("SWITCHBOARD_DATABASE_URL"):
        return "SWITCHBOARD_DATABASE_URL"
    return "the default"


def require_database(args: argparse.Namespace) -> str:
    """The database URL, after checking that a SQLite file it names exists."""
    url = database_url(args)
    path = sqlite_path(url)
    if path is not None and path != ":memory:" and not Path(path).is_file():
        where = Path(path).resolve()
        raise ConfigError(
            f"no database at {where} ({_source(args)} {redact(url)}): run this from your "
            "project's directory, pass --database, or create it with `switchboard db upgrade`"
        )
    return url


@asynccontextmanager
async def opened_store(args: argparse.Namespace) -> AsyncIterator[Store]:
    """The existing database the command works on, opened without migrating, then closed."""
    store = open_store(require_database(args), auto_migrate=False)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


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
