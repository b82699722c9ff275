"""The ``switchboard`` command: one module per command, each with ``add_parser`` and ``run``.

switchboard serve | diagram | export | consent | db | send | outbox | stats
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from bot.cli import consent, db, diagram, export, outbox, send, serve, stats
from bot.observe.logs import configure_logging

__all__ = ["build_parser", "main"]

# The commands in the order ``--help`` lists them; each module registers its own parser.
COMMANDS = {
    "serve": serve,
    "diagram": diagram,
    "export": export,
    "consent": consent,
    "db": db,
    "send": send,
    "outbox": outbox,
    "stats": stats,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``switchboard`` command."""
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="Stateful SMS, WhatsApp and voice conversations over Twilio.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script."""
    configure_logging(os.environ)
    args = build_parser().parse_args(argv)
    code: int = COMMANDS[args.command].run(args)
    return code
