"""``switchboard new DIR``: a project of one's own, outside this repository.

It writes a package named after the directory (never ``flows``, ``bot``, ``storage`` or
``app``, which Switchboard itself installs), an app factory, a first flow with transcripts
and a Python test, a pytest configuration that works as written, and a README with the
project's own two commands (see :mod:`bot.cli.scaffold`).
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import bot
from bot.cli.common import Commands, fail
from bot.cli.scaffold import FILES, Project

__all__ = ["add_parser", "package_name", "requirement", "run"]

# Top-level names Switchboard installs: a project package with one of them would shadow it.
_TAKEN = {"bot", "storage", "flows", "app", "tests", "switchboard"}


def add_parser(commands: Commands) -> None:
    """Register ``switchboard new``."""
    new = commands.add_parser("new", help="create a project of your own: flows, tests, app")
    new.add_argument("directory", type=Path, help="where to create it (must be new or empty)")
    new.add_argument("--package", help="the Python package's name (default: from DIRECTORY)")


def package_name(directory: Path, given: str | None = None) -> str:
    """A valid, free package name for ``directory`` (``pizza-bot`` → ``pizza_bot``)."""
    name = given or re.sub(r"\W", "_", directory.resolve().name.lower()).strip("_")
    if not name or not name.isidentifier() or keyword.iskeyword(name) or name[0].isdigit():
        raise ValueError(f"{name!r} cannot be a Python package name: pass --package NAME")
    if name in _TAKEN:
        raise ValueError(
            f"a package named {name!r} would shadow Switchboard's own: pass --package NAME"
        )
    return name


def requirement() -> str:
    """How the new project asks for Switchboard: this installation's source when it came from
    a directory (``switchboard`` on PyPI is an unrelated project), else by name."""
    source = Path(bot.__file__).resolve().parent.parent
    if (source / "pyproject.toml").is_file() and (source / "bot").is_dir():
        return f"switchboard @ {source.as_uri()}"
    try:
        raw = distribution("switchboard").read_text("direct_url.json")
    except PackageNotFoundError:
        raw = None
    url = json.loads(raw).get("url", "") if raw else ""
    return f"switchboard @ {url}" if url.startswith("file:") else "switchboard"


def run(args: argparse.Namespace) -> int:
    """Write the project; one line and exit 2 if the directory is not new or empty."""
    directory: Path = args.directory
    try:
        package = package_name(directory, args.package)
    except ValueError as exc:
        return fail(str(exc))
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        return fail(f"{directory} exists and is not an empty directory: choose a new one")
    project = Project(directory.resolve().name, package, requirement())
    for template_path, template in FILES.items():
        target = directory / template_path.format(package=package)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.format(p=project), encoding="utf-8")
    print(f"created {directory}/ with package {package}/. Next:")
    print(f"  cd {directory}")
    print("  python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest")
    print(f"  switchboard serve --dev --app {package}.app:app")
    return 0
