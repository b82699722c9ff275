"""``switchboard dev clock``: see or move a running dev server's clock (``/dev/clock``).

``switchboard dev clock --advance 2h`` moves the clock of the ``switchboard serve --dev``
at ``--url`` two hours forward; the timers due by then fire at once. Without ``--advance``
it tells the server's time. A production server has no such endpoint (it answers 404).
"""

from __future__ import annotations

import argparse

from bot.cli.common import Commands, fail
from bot.dev.clock_client import DevClockError, dev_clock

__all__ = ["add_parser", "run"]

DEFAULT_URL = "http://127.0.0.1:8000"


def add_parser(commands: Commands) -> None:
    """Register ``switchboard dev``."""
    dev = commands.add_parser("dev", help="talk to a running dev server (serve --dev)")
    verbs = dev.add_subparsers(dest="verb", required=True)
    clock = verbs.add_parser("clock", help="show or move the dev server's clock")
    clock.add_argument("--advance", metavar="DURATION", help="move it forward: 90s, 30m, 2h, 1d")
    clock.add_argument("--url", default=DEFAULT_URL, help=f"the dev server (default {DEFAULT_URL})")


def run(args: argparse.Namespace) -> int:
    """Show or move the clock; one line either way."""
    try:
        found = dev_clock(args.url, args.advance)
    except DevClockError as exc:
        return fail(str(exc))
    ahead = f"{found['offset']} ahead of the wall clock" if found["offset_seconds"] else "real time"
    fired = found.get("fired")
    more = "" if fired is None else f"; {fired} timer{'' if fired == 1 else 's'} fired"
    print(f"dev clock: {found['now']} ({ahead}){more}")
    return 0
