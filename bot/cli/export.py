"""``switchboard export KEY``: a stored conversation printed as a transcript."""

from __future__ import annotations

import argparse
import os
import sys

from bot.cli.common import Commands

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands) -> None:
    """Register ``switchboard export``."""
    export = commands.add_parser("export", help="print a stored conversation as a transcript")
    export.add_argument("key", help="conversation key, e.g. sms:+15550100000:+15550001111")
    export.add_argument("--database", default=None, help="database URL (default: from env)")


def run(args: argparse.Namespace) -> int:
    """Print the stored conversation ``args.key`` as a transcript."""
    import asyncio

    from bot.export.transcript import to_transcript
    from storage.url import open_store

    url = args.database or os.environ.get("SWITCHBOARD_DATABASE_URL", "sqlite:///switchboard.db")

    async def run() -> int:
        store = open_store(url, auto_migrate=False)
        await store.open()
        try:
            conversation = await store.conversation(args.key)
            if conversation is None:
                print(f"switchboard: no conversation {args.key!r} in {url}", file=sys.stderr)
                return 2
            print(to_transcript(conversation, await store.log(args.key)), end="")
            return 0
        finally:
            await store.close()

    return asyncio.run(run())
