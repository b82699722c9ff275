"""``switchboard export KEY``: a stored conversation printed as a transcript."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import Commands, add_database, opened_store, run_async
from bot.export.transcript import to_transcript

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands) -> None:
    """Register ``switchboard export``."""
    export = commands.add_parser("export", help="print a stored conversation as a transcript")
    export.add_argument("key", help="conversation key, e.g. sms:+15550100000:+15550001111")
    add_database(export)


async def _export(args: argparse.Namespace) -> int:
    """Print the stored conversation ``args.key`` as a transcript."""
    async with opened_store(args) as store:
        conversation = await store.conversation(args.key)
        if conversation is None:
            print(f"switchboard: no conversation {args.key!r} in this database", file=sys.stderr)
            return 2
        print(to_transcript(conversation, await store.log(args.key)), end="")
        return 0


run = run_async(_export)
