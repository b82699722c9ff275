"""What differs between SQLite and PostgreSQL, for the statements in :mod:`storage.programs`.

Shared statements use ``?`` placeholders; :func:`numbered` rewrites them to PostgreSQL's ``$n``
(once per statement text). Values cross the boundary through the dialect: SQLite stores
timestamps and JSON as text, PostgreSQL as ``timestamptz`` and ``jsonb`` (decoded by the
connection's codec).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

__all__ = ["POSTGRES", "SQLITE", "Dialect", "dumps", "numbered", "utc_text"]


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_EMPTY: dict[type, str] = {list: "[]", tuple: "[]", dict: "{}"}  # most turns' media, meta


def dumps(value: Any) -> str:
    """Compact JSON text, as both backends store it (``json.dumps`` with these options builds
    an encoder per call; the one built once writes the same text in half the time)."""
    if not value and type(value) in _EMPTY:
        return _EMPTY[type(value)]
    return _ENCODER.encode(value)


def utc_text(when: datetime) -> str:
    """A timestamp as fixed-width UTC text, so comparing the strings compares the times."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _same(value: Any) -> Any:
    return value


def _iso(when: datetime) -> str:
    return when.isoformat()


def _iso_minute(when: datetime) -> str:
    """``substr(updated_at, 1, 16)`` of a time stored as :func:`_iso` writes it."""
    return when.isoformat()[:16]


def _utc_minute(when: datetime) -> datetime:
    """``date_trunc('minute', updated_at AT TIME ZONE 'UTC')``: naive UTC."""
    return when.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few differences between SQLite and PostgreSQL that shared statements need."""

    name: str  # also the folder of its migrations
    lock: str  # after a SELECT whose row the transaction goes on to change
    same: str  # null-safe equality
    changed: str  # after an UPDATE whose changed rows the program counts (one row each)
    stamp: Callable[[datetime], Any]  # conversation, log, consent and window timestamps
    utc: Callable[[datetime], Any]  # outbox and timer timestamps (compared as text on SQLite)
    json: Callable[[Any], Any]  # a value for a JSON column
    read_time: Callable[[Any], datetime]
    read_json: Callable[[Any], Any]
    detail_time: Callable[[datetime], str]  # a timestamp inside a JSON detail
    minute: Callable[[datetime], Any]  # a conversation timestamp's active_minute (0018)


SQLITE = Dialect(
    name="sqlite", lock="", same="IS", changed="", stamp=_iso, utc=utc_text, json=dumps,
    read_time=datetime.fromisoformat, read_json=json.loads, detail_time=utc_text,
    minute=_iso_minute,
)  # fmt: skip

POSTGRES = Dialect(
    name="postgres", lock=" FOR UPDATE", same="IS NOT DISTINCT FROM", changed=" RETURNING 1",
    stamp=_same, utc=_same, json=_same, read_time=_same, read_json=_same, detail_time=_iso,
    minute=_utc_minute,
)  # fmt: skip


@lru_cache(maxsize=256)
def numbered(sql: str) -> str:
    """``sql`` with its ``?`` placeholders numbered ``$1``, ``$2``… (none sit in literals)."""
    parts = sql.split("?")
    out = [parts[0]]
    for n, part in enumerate(parts[1:], start=1):
        out.append(f"${n}{part}")
    return "".join(out)
