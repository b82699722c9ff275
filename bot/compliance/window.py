"""WhatsApp's 24-hour customer-service window, tracked per conversation.

Free-form WhatsApp messages may go out only within 24 hours of the person's last inbound
message on that conversation (Twilio error 63016 otherwise). The engine records every inbound
WhatsApp message's time in the same transaction as its turn (``TurnWrite.touch_window``), on
the engine's clock (the fake one in tests); ``bot.gate`` reads it before every send.

When Twilio reports **63016** for a send anyway (our record was wrong: the clock, a message we
never saw), call :func:`close_window_after_63016` (or ``engine.gate.window_error``): the window
is marked closed from then on, so later free-form sends become templates or ``WindowClosed``,
until the person writes again. An inbound message that arrived after the failed send keeps
the window open.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.events.keys import ConversationKey
from bot.events.model import Channel
from storage.protocols import ConsentStore

__all__ = ["close_window_after_63016", "window_key", "window_open"]

WINDOW_ERROR = "63016"


def window_key(ours: str, theirs: str) -> str:
    """The WhatsApp conversation a window belongs to (its conversation key)."""
    return ConversationKey(Channel.WHATSAPP, ours, theirs).id


def window_open(last_inbound: datetime | None, now: datetime, length: timedelta) -> bool:
    """Whether a window opened by a message at ``last_inbound`` is still open at ``now``."""
    return last_inbound is not None and now < last_inbound + length


async def close_window_after_63016(
    store: ConsentStore, ours: str, theirs: str, at: datetime
) -> bool:
    """Twilio error 63016 for a send from ``ours`` to ``theirs`` made at ``at``: close the window.

    Returns whether our record had the window open (i.e. whether it was corrected).
    """
    return await store.close_window(window_key(ours, theirs), at)
