"""``switchboard dev clock``: see or move a running dev server's clock (``/dev/clock``).

``switchboard dev clock --advance 2h`` moves the clock of the ``switchboard serve --dev``
at ``--url`` two hours forward; the timers due by then fire at once. Without ``--advance``
it tells the server's time. A production server has no such endpoint (it answers 404).
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any

from bot.cli.common import Commands, fail

__all__ = ["add_parser", "run"]

DEFAULT_URL = "http://127.0.0.1:8000"


def add_parser(commands: Commands) -> None:
    """Register ``switchboard dev``."""
    dev = commands.add_parser("dev", help="talk to a running dev server (serve --dev)")
    verbs = dev.add_subparsers(dest="verb", required=True)
    clock = verbs.add_parser("clock", help="show or move the dev server's clock")
    clock.add_argument("--advance", metavar="DURATION", help="move it forward: 90s, 30m, 2h, 1d")
    clock.add_argument("--url", default=DEFAULT_URL, help=f"the dev server (default {DEFAULT_URL})")


def _call(url: str, body: dict[str, str] | None) -> dict[str, Any]:
    """The JSON answer of ``/dev/clock``; :class:`OSError` with a line to show otherwise."""
    data = json.dumps(body).encode() if body is not None else None
    asked = urllib.request.Request(
        url.rstrip("/") + "/dev/clock", data=data, method="POST" if body else "GET",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(asked, timeout=30) as answer:
            found: dict[str, Any] = json.load(answer)
            return found
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise OSError(f"{url} has no dev clock: is it a `switchboard serve --dev`?") from exc
        raise OSError(f"{url} refused: {_reason(exc)}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise OSError(
            f"no dev server answers at {url} ({getattr(exc, 'reason', exc)}): start one with "
            "`switchboard serve --dev`, or pass --url"
        ) from exc


def _reason(exc: urllib.error.HTTPError) -> str:
    """The server's one-line ``error``, else the HTTP reason."""
    try:
        return str(json.loads(exc.read())["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {exc.code} {exc.reason}"


def run(args: argparse.Namespace) -> int:
    """Show or move the clock; one line either way."""
    try:
        found = _call(args.url, {"advance": args.advance} if args.advance else None)
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    ahead = f"{found['offset']} ahead of the wall clock" if found["offset_seconds"] else "real time"
    fired = found.get("fired")
    more = "" if fired is None else f"; {fired} timer{'' if fired == 1 else 's'} fired"
    print(f"dev clock: {found['now']} ({ahead}){more}")
    return 0
