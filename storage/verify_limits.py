"""The per-number limit on verification codes, as a store program (both backends).

One row per number (``verify_sends``): the start of its current window and how many codes
were asked for in it. :func:`take_verify_send` counts one more in a single upsert, so two
instances asking at once are serialised by the row, and answers whether it is within
``limit``. Codes themselves are never stored (docs/verify.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.dialect import Dialect
from storage.programs import Program

__all__ = ["take_verify_send"]

_TAKE = (
    "INSERT INTO verify_sends (person, window_start, sent) VALUES (?, ?, 1) "
    "ON CONFLICT (person) DO UPDATE SET "
    "sent = CASE WHEN verify_sends.window_start <= ? THEN 1 ELSE verify_sends.sent + 1 END, "
    "window_start = CASE WHEN verify_sends.window_start <= ? THEN excluded.window_start "
    "ELSE verify_sends.window_start END "
    "RETURNING sent"
)


def take_verify_send(
    d: Dialect, person: str, at: datetime, window: timedelta, limit: int
) -> Program[bool]:
    """Count a code for ``person`` at ``at``; whether it is within ``limit`` per ``window``."""
    expired = d.stamp(at - window)
    rows = yield _TAKE, (person, d.stamp(at), expired, expired)
    return int(rows[0][0]) <= limit
