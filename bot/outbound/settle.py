"""Settling an attempt nobody knows the outcome of: did Twilio take it, or not?

An attempt is *unsettled* when its exact request and start time were stored
(:meth:`~storage.protocols.OutboxStore.begin_attempt`) but no answer was: the create timed
out, the connection broke mid-request, or the process died. Then, in order:

1. **wait**: until ``settle_seconds`` after the attempt started, the message stays pending
   (a create Twilio accepts late must have time to show up in its list);
2. **look**: every message Twilio holds to the recipient from our sender created since the
   attempt started (minus ``clock_skew``), all pages, newest first until one is older; a
   message whose sid another outbox row already owns is not ours;
3. **match** against the stored request, not the stored message: the body *as sent*
   (smart-encoded, or a template's text), or for a ``ContentSid`` send, the one unowned
   message of the window;
4. found → ``accepted`` (``reconciled``); not found → the purpose's side
   (:class:`~bot.outbound.config.Side`): at least once sends again; at most once marks the
   message ``failed`` as unconfirmed and never sends it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.outbound.sender import Found
from storage.protocols import OutboxStore

__all__ = ["match", "pick", "settles_at"]

log = logging.getLogger("switchboard.outbox")


def settles_at(attempt_at: datetime, settle_seconds: float) -> datetime:
    """When an unsettled attempt may be looked up."""
    return attempt_at + timedelta(seconds=settle_seconds)


async def pick(store: OutboxStore, found: list[Found], wire: Mapping[str, Any]) -> Found | None:
    """The message among those Twilio listed (``found``) that ``wire`` created, or None:
    :func:`match`, with the sids other outbox rows own read from ``store``."""
    return match(found, wire, await store.outbox_sids([f.sid for f in found]))


def match(found: Sequence[Found], wire: Mapping[str, Any], owned: set[str]) -> Found | None:
    """The message among ``found`` that the request ``wire`` created, or None.

    ``owned`` are sids other outbox rows hold. The oldest unowned candidate wins (the
    attempt's own create is the first to appear after it started).
    """
    free = [f for f in found if f.sid not in owned]
    if wire.get("ContentSid"):
        # Twilio lists a template send with its rendered text, which we never see: any
        # unowned message of the window is the candidate, so only one may be there.
        if len(free) > 1:
            log.warning(
                "%d unowned messages to %s in the window of a template send; taking the oldest",
                len(free), wire.get("To"),
            )  # fmt: skip
        return min(free, key=lambda f: f.created, default=None)
    body = wire.get("Body", "")
    same = [f for f in free if f.body == body]
    return min(same, key=lambda f: f.created, default=None)
