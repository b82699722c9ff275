"""The hand-off inbox query (issue 13), written once for both backends.

A conversation in hand-off carries its record in its data under ``_handoff``
(``bot.flow.handoff``); migration 0011 indexes open ones by the record's ``since``, with the
same expression used here, so the inbox reads the index alone.
"""

from __future__ import annotations

import storage.schema as S
from storage.dialect import Dialect
from storage.programs import Program
from storage.records import Conversation

__all__ = ["inbox", "since_expression"]


def since_expression(d: Dialect) -> str:
    """The SQL for "when this conversation was handed off" (NULL if it is not)."""
    if d.name == "postgres":
        return "(data -> '_handoff' ->> 'since')"
    return "json_extract(data, '$._handoff.since')"


def inbox(d: Dialect, limit: int) -> Program[list[Conversation]]:
    """Open conversations in hand-off, the longest waiting first."""
    since = since_expression(d)
    rows = yield (
        f"SELECT {S.columns(S.CONVERSATION)} FROM conversations "
        f"WHERE closed = ? AND {since} IS NOT NULL ORDER BY {since}, key LIMIT ?",
        (False, limit),
    )
    return [S.conversation(row, d) for row in rows]
