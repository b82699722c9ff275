"""The ``switchboard`` command: one module per command, each with ``add_parser`` and ``run``.

switchboard new | serve | dev | chat | diagram | export | consent | db | send | outbox |
flows | conversations | stats
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from typing import NoReturn

from bot.cli import (
    chat,
    consent,
    conversations,
    db,
    dev,
    diagram,
    export,
    flows,
    new,
    outbox,
    send,
    serve,
    stats,
)
from bot.cli.common import fail
from bot.observe.logs import configure_logging
from storage.url import redact

__all__ = ["build_parser", "main"]

# The commands in the order ``--help`` lists them; each module registers its own parser.
COMMANDS = {
    "new": new,
    "serve": serve,
    "dev": dev,
    "chat": chat,
    "diagram": diagram,
    "export": export,
    "consent": consent,
    "db": db,
    "send": send,
    "outbox": outbox,
    "flows": flows,
    "conversations": conversations,
    "stats": stats,
}


_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+")


class _Parser(argparse.ArgumentParser):
    """argparse echoes arguments it does not expect: a database URL's password among them."""

    def error(self, message: str) -> NoReturn:
        super().error(_URL.sub(lambda m: redact(m.group(0)), message))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``switchboard`` command."""
    parser = _Parser(
        prog="switchboard",
        description="Stateful SMS, WhatsApp and voice conversations over Twilio.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script.

    Every failure is one line on stderr and a non-zero exit; ``--debug`` adds the traceback.
    """
    configure_logging(os.environ)
    args = build_parser().parse_args(argv)
    try:
        code: int = COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.debug:
            raise
        message = _URL.sub(lambda m: redact(m.group(0)), str(exc))  # a URL's password too
        return fail(f"{type(exc).__name__}: {message} (run with --debug for the traceback)")
    return code
