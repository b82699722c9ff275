"""``switchboard db upgrade`` / ``db status``, and the schema check ``serve`` runs first."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import Commands, add_database, database_url, fail, require_database
from bot.errors import SwitchboardError
from storage.admin import schema_status, upgrade
from storage.url import open_store, redact

__all__ = ["add_parser", "check_schema", "run"]


def _upgrade(url: str) -> int:
    applied = asyncio.run(upgrade(url))
    status = asyncio.run(schema_status(url))
    if applied:
        print(f"{redact(url)}: applied {', '.join(map(str, applied))}; now at {status.version}")
    else:
        print(f"{redact(url)}: already at schema version {status.version}")
    return 0


def _status(url: str) -> int:
    status = asyncio.run(schema_status(url))
    print(f"{redact(url)} ({status.backend}): schema version {status.version}, "
          f"this code's is {status.latest}")  # fmt: skip
    for step in status.pending:
        print(f"  pending: {step.version:04d}_{step.name}")
    if status.unknown:
        print(f"  applied by a newer Switchboard: {status.unknown}")
    return 0 if status.current else 1


def run(args: argparse.Namespace) -> int:
    """Run ``switchboard db <verb>``; exit 2 with one line on a configuration or store error."""
    try:
        if args.verb == "upgrade":
            return _upgrade(database_url(args))  # creates the database when it is new
        return _status(require_database(args))  # only reads: never creates one
    except SwitchboardError as exc:
        return fail(str(exc))


async def _open_and_close(url: str) -> None:
    store = open_store(url)
    await store.open()
    await store.close()


def check_schema(url: str) -> bool:
    """Open the store as the app will (migrating SQLite, checking PostgreSQL); print why not."""
    try:
        asyncio.run(_open_and_close(url))
    except SwitchboardError as exc:
        fail(str(exc))
        return False
    return True


def add_parser(commands: Commands) -> None:
    """Register ``switchboard db upgrade|status``."""
    db = commands.add_parser("db", help="show or upgrade the database schema")
    verbs = db.add_subparsers(dest="verb", required=True)
    for verb, text in [
        ("upgrade", "apply the migrations the database lacks (safe from several hosts at once)"),
        ("status", "show the schema version; exit 1 unless it is this code's"),
    ]:
        sub = verbs.add_parser(verb, help=text)
        add_database(sub)
