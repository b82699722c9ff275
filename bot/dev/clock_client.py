"""The client of a dev server's ``/dev/clock`` (``switchboard dev clock`` uses it).

:func:`dev_clock` reads the server's time or, given a duration, moves it forward; the answer
is the server's JSON (``now``, ``offset``, ``offset_seconds``, and ``fired``: timers fired
by the move). Every failure is a :class:`DevClockError` whose message is one line saying
what to do.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

__all__ = ["DevClockError", "dev_clock"]


class DevClockError(Exception):
    """The server could not be reached, is not a dev server, or refused the move."""


def dev_clock(url: str, advance: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """``GET`` (or, with ``advance`` such as ``2h``, ``POST``) ``url/dev/clock``."""
    body = json.dumps({"advance": advance}).encode() if advance else None
    asked = urllib.request.Request(
        url.rstrip("/") + "/dev/clock", data=body, method="POST" if body else "GET",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(asked, timeout=timeout) as answer:
            found: dict[str, Any] = json.load(answer)
            return found
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise DevClockError(
                f"{url} has no dev clock: is it a `switchboard serve --dev`?"
            ) from exc
        raise DevClockError(f"{url} refused: {_reason(exc)}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as exc:
        raise DevClockError(
            f"no dev server answers at {url} ({getattr(exc, 'reason', exc)}): start one with "
            "`switchboard serve --dev`, or pass --url"
        ) from exc


def _reason(exc: urllib.error.HTTPError) -> str:
    """The server's one-line ``error``, else the HTTP reason."""
    try:
        return str(json.loads(exc.read())["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {exc.code} {exc.reason}"
