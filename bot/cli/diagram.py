"""``switchboard diagram FLOW``: a flow as a Mermaid state diagram, from its definition."""

from __future__ import annotations

import argparse
import importlib
import sys

from bot.cli.common import Commands

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands) -> None:
    """Register ``switchboard diagram``."""
    diagram = commands.add_parser("diagram", help="print a flow as a Mermaid state diagram")
    diagram.add_argument("flow", help="the flow's name")
    diagram.add_argument(
        "--flows", default="flows:EXAMPLE_FLOWS", help="module:attribute listing the flow classes"
    )


def run(args: argparse.Namespace) -> int:
    """Print the named flow's Mermaid diagram."""
    from bot.flow.diagram import mermaid

    module, _, attr = args.flows.partition(":")
    flows = getattr(importlib.import_module(module), attr)
    found = [flow for flow in flows if flow.name == args.flow]
    if not found:
        names = ", ".join(sorted(flow.name for flow in flows))
        print(f"switchboard: no flow named {args.flow!r} (known: {names})", file=sys.stderr)
        return 2
    print(mermaid(found[0]))
    return 0
