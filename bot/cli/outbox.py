"""``switchboard outbox``: the delivery report per flow or number, or one message's history."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import Commands, database_url, run_async
from storage.url import open_store

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands) -> None:
    """Register ``switchboard outbox``."""
    outbox = commands.add_parser("outbox", help="delivery report, or one message's history")
    outbox.add_argument("--by", choices=("flow", "number"), default="flow")
    outbox.add_argument("--message", help="show this outbox message's history")
    outbox.add_argument("--database", help="database URL (default: from env)")


async def _outbox(args: argparse.Namespace) -> int:
    url = database_url(args)
    store = open_store(url, auto_migrate=False)
    await store.open()
    try:
        if args.message:
            history = await store.outbox_history(args.message)
            if not history:
                print(f"switchboard: no outbox message {args.message!r}", file=sys.stderr)
                return 2
            for e in history:
                code = f" error {e.code}" if e.code else ""
                print(f"{e.at.isoformat()}  {e.event:<15} {e.status or '':<10} {e.sid or ''}{code}")
            return 0
        print(f"{'group':<28} {'total':>6} {'delivered':>9} {'rate':>6}  statuses")
        for row in await store.delivery_report("theirs" if args.by == "number" else "flow"):
            shown = ", ".join(f"{k} {v}" for k, v in sorted(row.by_status.items()))
            print(f"{row.group:<28} {row.total:>6} {row.delivered:>9} {row.rate:>6.1%}  {shown}")
        return 0
    finally:
        await store.close()


run = run_async(_outbox)
