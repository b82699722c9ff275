"""What a delivery id was first stored with, read only when it comes again (both backends).

A duplicate webhook is answered from its idempotency record without reading anything else.
Only then does the engine ask :func:`first_delivery` what the first delivery carried: the
conversation it was filed under and the inbound text the message log holds for it, so a
reused ``MessageSid`` with another body or from another conversation can be flagged. The
normal turn never runs this.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.programs import Program

__all__ = ["FirstDelivery", "first_delivery"]

# The log row is looked up within the conversation (message_log's index), never by sid alone.
_FIRST = (
    "SELECT i.conversation, m.body FROM idempotency i "
    "LEFT JOIN message_log m ON m.conversation = i.conversation AND m.sid = ? "
    "AND m.direction = 'in' WHERE i.key = ? ORDER BY m.id LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class FirstDelivery:
    """The conversation an idempotency key was recorded for, and the inbound text logged
    with ``sid`` there (``None`` when the log holds no such entry)."""

    conversation: str
    body: str | None


def first_delivery(idempotency_key: str, sid: str) -> Program[FirstDelivery | None]:
    """What the first delivery recorded under ``idempotency_key`` (with ``sid``) carried."""
    rows = yield _FIRST, (sid, idempotency_key)
    if not rows:
        return None
    conversation, body = rows[0]
    return FirstDelivery(str(conversation), None if body is None else str(body))
