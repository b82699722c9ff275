"""Start conversations from outside a webhook: notifications, reminders, small campaigns.

>>> await start_conversation(engine, "appointments", "+15550001111", from_="+15550100000",
...                          data={"when": "Tue 10:00"})

The flow starts afresh in its initial state (an open conversation with the person on that
number is replaced); what its ``on_enter_<initial>`` says goes out through the outbox. A
``start_id`` makes the start idempotent: starting again with the same id does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.engine.engine import Engine
from bot.errors import ConfigError
from bot.events.internal import Started
from bot.events.keys import ConversationKey
from bot.events.model import Channel, Params, channel_of
from storage.records import Purpose

__all__ = ["StartOutcome", "start_conversation"]


@dataclass(frozen=True, slots=True)
class StartOutcome:
    """The conversation started (its key), or found already started with that ``start_id``."""

    key: str
    started: bool


async def start_conversation(
    engine: Engine,
    flow: str,
    to: str,
    *,
    from_: str,
    data: Mapping[str, Any] | None = None,
    start_id: str | None = None,
    purpose: Purpose = Purpose.START,
) -> StartOutcome:
    """Start ``flow`` with ``to`` from our address ``from_``.

    Use ``whatsapp:+1…`` addresses for WhatsApp (both ``to`` and ``from_``). ``purpose`` is
    what the flow's first messages are for: ``start`` (transactional: a notification the
    person expects, sent at once) or ``campaign``/``reminder`` (held outside the recipient's
    quiet hours, docs/compliance.md).
    """
    if flow not in engine.flows:
        raise ConfigError(f"no flow named {flow!r} is registered (have: {sorted(engine.flows)})")
    if Purpose(purpose) is Purpose.CONSENT:  # the gate lets those reach an opted-out person
        raise ConfigError("purpose 'consent' is the framework's own answer to a keyword")
    channel = channel_of(to)
    if channel_of(from_) is not channel:
        raise ConfigError(f"{to!r} and {from_!r} are on different channels")
    event = Started(
        channel=channel, from_=to, to=from_, params=Params(), flow=flow, start_id=start_id,
        seed=dict(data or {}), purpose=Purpose(purpose),
    )  # fmt: skip
    key = ConversationKey(Channel(channel), from_, to).id
    if event.dedupe_key is not None:
        earlier = await engine.store.load(key, [event.dedupe_key])
        if earlier.response is not None:
            return StartOutcome(key, started=False)
    await engine.handle(event)
    return StartOutcome(key, started=True)
