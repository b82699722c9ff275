"""Ready-made transition conditions: ``T("message", "menu", "faq", conditions=text_is("1"))``.

Each returns a plain callable taking the :class:`~bot.turn.Turn`, so it is validated and
compiled like a method name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.events.messaging import InboundMessage
from bot.flow.turn import Turn

__all__ = ["has_media", "text_is", "text_matches"]

Condition = Callable[[Turn], bool]


def text_is(*options: str) -> Condition:
    """True when the text equals one of ``options``, ignoring case and surrounding space."""
    wanted = frozenset(option.strip().casefold() for option in options)

    def check(turn: Turn) -> bool:
        return turn.text.casefold() in wanted

    check.__name__ = "text is " + " / ".join(repr(option) for option in sorted(wanted))
    return check


def text_matches(pattern: str, flags: int = re.IGNORECASE) -> Condition:
    """True when the whole (stripped) text matches the regular expression ``pattern``."""
    compiled = re.compile(pattern, flags)

    def check(turn: Turn) -> bool:
        return compiled.fullmatch(turn.text) is not None

    check.__name__ = f"text matches {pattern!r}"
    return check


def has_media(turn: Turn) -> bool:
    """True when the message carries at least one attachment."""
    return isinstance(turn.event, InboundMessage) and bool(turn.event.media)
