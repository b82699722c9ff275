"""Reading what the store knows about a person before we send to them: their consent in our
number's scope and, on WhatsApp, their window. Used by consent keywords and by the gate."""

from __future__ import annotations

from collections.abc import Awaitable

from bot.compliance.config import Compliance
from bot.compliance.window import window_key
from bot.events.model import Channel, strip_channel
from storage.protocols import ConsentStore
from storage.records import Contact

__all__ = ["read_contact"]


def read_contact(
    store: ConsentStore, compliance: Compliance, channel: Channel, ours: str, theirs: str
) -> Awaitable[Contact]:
    """The person ``theirs`` as seen from our address ``ours``: consent and window (the
    store's read itself, to await: no coroutine of its own on every turn's path)."""
    window = window_key(ours, theirs) if channel is Channel.WHATSAPP else None
    return store.contact(compliance.scope(ours), strip_channel(theirs), window)
