"""Operating conversations: list and search them, read one's timeline, and act on it
(move, edit data, reset, end, timers, outbox, consent) through the engine's lock and the
store's version guard, every action audited. The admin API (``bot.web.admin_api``), the
console and ``switchboard conversations`` are all clients of :class:`Operations`.
"""

from __future__ import annotations

from bot.admin.auth import Access, ConsoleAccess, parse_tokens
from bot.admin.errors import Invalid, NotFound, OperatorError, Stale
from bot.admin.service import Operations

__all__ = [
    "Access",
    "ConsoleAccess",
    "Invalid",
    "NotFound",
    "Operations",
    "OperatorError",
    "Stale",
    "parse_tokens",
]
