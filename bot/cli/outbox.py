"""``switchboard outbox``: the delivery report per flow or number, or one message's history."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import Commands, add_database, opened_store, run_async

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands) -> None:
    """Register ``switchboard outbox``."""
    outbox = commands.add_parser("outbox", help="delivery report, or one message's history")
    outbox.add_argument("--by", choices=("flow", "number"), default="flow")
    outbox.add_argument("--message", help="show this outbox message's history")
    add_database(outbox)


async def _outbox(args: argparse.Namespace) -> int:
    async with opened_store(args) as store:
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
            rate = f"{row.rate:.1%}" if row.final else "-"  # no outcome yet: no rate
            print(f"{row.group:<28} {row.total:>6} {row.delivered:>9} {rate:>6}  {shown}")
        return 0


run = run_async(_outbox)
