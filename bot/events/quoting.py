"""A request's value as an error message shows it: quoted, and cut when it is long.

A 400 answer and its log line name the value that was wrong; sent whole, a 5,000-character
``From`` or ``Digits`` filled both (found by an attack run). :func:`quoted` keeps enough to
recognise it and says how long it was.
"""

from __future__ import annotations

__all__ = ["quoted"]

LIMIT = 40


def quoted(value: str, limit: int = LIMIT) -> str:
    """``repr(value)``, or the first ``limit`` characters' repr and the full length."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"
