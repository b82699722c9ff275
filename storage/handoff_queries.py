"""The hand-off inbox query (issue 13), written once for both backends.

A conversation in hand-off carries its record in its data under ``_handoff``
(``bot.flow.handoff``); migration 0011 indexes open ones by the record's ``since``, with the
same expression used here, so the inbox reads the index alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import storage.schema as S
from storage.dialect import Dialect
from storage.programs import Program
from storage.records import Conversation

__all__ = ["Notice", "add_notice", "claim_notices", "finish_notice", "inbox", "since_expression"]


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification about a hand-off (``event``: ``handed_off`` or ``waiting``)."""

    handoff: str
    event: str
    conversation: str
    payload: dict[str, Any]
    attempts: int = 0


def since_expression(d: Dialect) -> str:
    """The SQL for "when this conversation was handed off" (NULL if it is not)."""
    if d.name == "postgres":
        return "(data -> '_handoff' ->> 'since')"
    return "json_extract(data, '$._handoff.since')"


def inbox(d: Dialect, limit: int) -> Program[list[Conversation]]:
    """Open conversations in hand-off, the longest waiting first."""
    since = since_expression(d)
    # the partial index's own predicate, literally, so both planners can use the index
    is_open = "NOT closed" if d.name == "postgres" else "closed = 0"
    rows = yield (
        f"SELECT {S.columns(S.CONVERSATION)} FROM conversations "
        f"WHERE {is_open} AND {since} IS NOT NULL ORDER BY {since}, key LIMIT ?",
        (limit,),
    )
    return [S.conversation(row, d) for row in rows]


def add_notice(d: Dialect, notice: Notice, now: datetime) -> Program[bool]:
    """Record ``notice`` to be sent (once per hand-off and event); whether it is new."""
    rows = yield (
        "INSERT INTO handoff_notices (handoff, event, conversation, payload, next_at) "
        "VALUES (?,?,?,?,?) ON CONFLICT (handoff, event) DO NOTHING RETURNING 1",
        (notice.handoff, notice.event, notice.conversation, d.json(notice.payload), d.utc(now)),
    )
    return bool(rows)


def claim_notices(
    d: Dialect, now: datetime, lease_until: datetime, limit: int, max_attempts: int
) -> Program[list[Notice]]:
    """Due, unsent notices, leased to the caller until ``lease_until`` (one sender each)."""
    rows = yield (
        "SELECT handoff, event, conversation, payload, attempts FROM handoff_notices "
        "WHERE sent_at IS NULL AND next_at <= ? AND attempts < ? "
        "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_at LIMIT ?" + d.lock,
        (d.utc(now), max_attempts, d.utc(now), limit),
    )
    found = [Notice(h, e, c, d.read_json(p), a) for h, e, c, p, a in rows]
    for n in found:
        yield (
            "UPDATE handoff_notices SET lease_until = ? WHERE handoff = ? AND event = ?",
            (d.utc(lease_until), n.handoff, n.event),
        )
    return found


def finish_notice(
    d: Dialect, notice: Notice, now: datetime, error: str | None, retry_at: datetime
) -> Program[None]:
    """Mark ``notice`` sent (``error`` None) or failed once more, to retry at ``retry_at``."""
    if error is None:
        yield (
            "UPDATE handoff_notices SET sent_at = ?, attempts = attempts + 1, lease_until = NULL, "
            "error = NULL WHERE handoff = ? AND event = ?",
            (d.utc(now), notice.handoff, notice.event),
        )
        return
    yield (
        "UPDATE handoff_notices SET attempts = attempts + 1, next_at = ?, lease_until = NULL, "
        "error = ? WHERE handoff = ? AND event = ?",
        (d.utc(retry_at), error[:500], notice.handoff, notice.event),
    )
