"""A delivery id used again for something else: answered as a duplicate, logged as suspicious.

Twilio retries a webhook with the same ``MessageSid`` and the same parameters, and the engine
answers a retry from the store. A reused ``MessageSid`` that carries another body, or comes
from another conversation, is not a retry: it still gets the first answer (the id is what
Twilio keys on), but it is logged as a warning with the conversation, the sid and, for each
body, its length and a short hash (the bodies are the person's words, never logged here).

Checked only once a duplicate is detected, so the normal turn does no extra work.
"""

from __future__ import annotations

import hashlib
import logging

from bot.engine.subflows import MASK
from bot.errors import StoreError
from bot.events.keys import ConversationKey
from bot.events.messaging import InboundMessage
from bot.events.model import Event
from storage.protocols import TurnStore

__all__ = ["check_replay"]

log = logging.getLogger("switchboard.engine")


def _digest(text: str) -> str:
    """``12 chars, sha256 1a2b3c4d``: enough to tell two bodies apart, not to read them."""
    return f"{len(text)} chars, sha256 {hashlib.sha256(text.encode()).hexdigest()[:8]}"


async def check_replay(store: TurnStore, key: ConversationKey, event: Event) -> None:
    """Log a warning when the duplicate ``event`` is a message whose MessageSid was first
    delivered with another body or in another conversation."""
    if not isinstance(event, InboundMessage) or event.dedupe_key is None:
        return
    try:
        first = await store.first_delivery(event.dedupe_key, event.sid)
    except StoreError as exc:  # the duplicate is answered all the same
        log.warning("could not compare MessageSid %s with its first delivery: %s", event.sid, exc)
        return
    if first is None:
        return
    if first.conversation != key.id:
        log.warning(
            "suspicious reuse of MessageSid %s: first delivered in %s, now from %s (%s); "
            "answered with the first answer", event.sid, first.conversation, key.id,
            _digest(event.text),
        )  # fmt: skip
    elif first.body is not None and first.body != MASK and first.body != event.text:
        log.warning(
            "suspicious reuse of MessageSid %s in %s: its body differs from the first "
            "delivery's (now %s; first %s); answered with the first answer",
            event.sid, key.id, _digest(event.text), _digest(first.body),
        )  # fmt: skip
