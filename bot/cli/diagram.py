"""``switchboard diagram FLOW``: a flow drawn from its definition (Mermaid, DOT or SVG)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from bot.cli.common import Commands, fail
from bot.flow.definition import Flow
from bot.flow.diagram import dot, mermaid, svg
from bot.flow.subflow import with_children

__all__ = ["add_parser", "load_flows", "run"]

_FORMATS = {"mermaid": mermaid, "dot": dot, "svg": svg}


def add_parser(commands: Commands) -> None:
    """Register ``switchboard diagram``."""
    diagram = commands.add_parser(
        "diagram", help="draw a flow: Mermaid text, Graphviz DOT, or SVG (needs Graphviz)"
    )
    diagram.add_argument("flow", help="the flow's name")
    diagram.add_argument(
        "--flows", default="flows:EXAMPLE_FLOWS", help="module:attribute listing the flow classes"
    )
    diagram.add_argument("--format", choices=sorted(_FORMATS), default="mermaid")
    diagram.add_argument("-o", "--output", type=Path, help="write to this file, not stdout")


def load_flows(spec: str) -> list[type[Flow]]:
    """The flow classes ``module:attribute`` names, the module looked up from here first
    (as ``serve --app`` does), so a project's own module needs no PYTHONPATH."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"--flows {spec!r}: use module:attribute, e.g. myproject.flows:FLOWS")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found = getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        raise ValueError(f"--flows {spec!r}: no module {exc.name!r} here or installed") from None
    except AttributeError:
        raise ValueError(f"--flows {spec!r}: {module} has no {attr!r}") from None
    return list(found)


def run(args: argparse.Namespace) -> int:
    """Print (or write) the named flow's diagram."""
    try:
        flows = with_children(load_flows(args.flows))  # subflows are drawn on their own too
    except ValueError as exc:
        return fail(str(exc))
    found = [flow for flow in flows if flow.name == args.flow]
    if not found:
        names = ", ".join(sorted(flow.name for flow in flows))
        return fail(f"no flow named {args.flow!r} (known: {names})")
    drawn = _FORMATS[args.format](found[0])
    if args.output is None:
        print(drawn, end="")
    else:
        args.output.write_text(drawn, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0
