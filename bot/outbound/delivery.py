"""``MessageStatus`` callbacks: applied to the outbox monotonically, whatever order they come in.

queued < sending < sent < delivered < read; ``failed``, ``undelivered`` and ``canceled`` are
terminal. A duplicate or a status older than the one stored is recorded in the message's
history and otherwise ignored. A failure with a transient code (30003, 30008, 63018) puts
the message back in the outbox for another attempt, while attempts remain; a permanent one
applies its consequence (21610 → consent ledger, 30005/30006 → undeliverable, 63016 → window).
The message is found by our id (the ``ob`` query parameter of its callback URL) or its sid.
A 63016 for a message not in the outbox (a TwiML ``<Message>`` reply, whose status comes through
a Messaging Service's or the account's status callback) closes the window of its ``From`` and
``To`` all the same: the window is the person's, whichever way the failed message went.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.errors import BadRequest
from bot.events.model import Params
from bot.outbound.policy import Consequence, consequence, is_transient
from bot.outbound.worker import OutboxWorker
from storage.protocols import OutboxStore
from storage.records import DELIVERY_RANK, FAILED_DELIVERY

__all__ = ["DeliveryCallbacks"]

log = logging.getLogger("switchboard.status")
_KNOWN = set(DELIVERY_RANK) | FAILED_DELIVERY
_OTHER = {"receiving", "received", "partially_delivered"}


def _error_code(params: Params) -> int | None:
    raw = params.get("ErrorCode", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise BadRequest(f"ErrorCode must be a number, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class DeliveryCallbacks:
    """Applies ``MessageStatus`` callbacks to the outbox (wired by ``bot.runtime``)."""

    store: OutboxStore
    worker: OutboxWorker
    clock: Clock

    async def __call__(self, params: Params, query: Mapping[str, str]) -> None:
        """Apply one message status callback; ``query`` is the callback URL's query string
        (``ob`` names our outbox message)."""
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        status = params.get("MessageStatus", "").strip().lower()
        if not sid:
            raise BadRequest("missing required parameter 'MessageSid'")
        if status in _OTHER:  # an inbound message's, or one no outbound message settles on
            log.info(
                "ignored status %s for %s: not one an outbound message settles on", status, sid
            )
            return
        if status not in _KNOWN:
            raise BadRequest(f"unknown MessageStatus {status!r}")
        code = _error_code(params)
        outbox, now = self.worker, self.clock.now()
        message = await self.store.outbox_message(query["ob"]) if "ob" in query else None
        retry_at = None
        if status in FAILED_DELIVERY and is_transient(code):
            attempts = message.attempts if message is not None else 0
            if not outbox.backoff.exhausted(attempts):
                retry_at = now + outbox.backoff.delay(attempts)
        update = await self.store.apply_delivery(
            message.id if message else None, sid, status, code, now, retry_at
        )
        if update is None:
            if not await self._close_window(params, sid, status, code, now):
                log.info("status %s for %s, which is not in the outbox", status, sid)
            return
        outbox.observer.delivery(status, update.applied)
        if not update.applied:
            return
        if retry_at is not None:
            outbox.wake()
        elif status in FAILED_DELIVERY:
            shown = f"Twilio error {code}" if code is not None else "no error code"
            log.warning("outbox message %s %s (%s)", update.message.id, status, shown)
            if code is not None:
                await outbox.after_permanent(update.message, code, now)

    async def _close_window(
        self, params: Params, sid: str, status: str, code: int | None, at: datetime
    ) -> bool:
        """A 63016 for a WhatsApp message not in the outbox (a TwiML reply): close the window
        of its ``From`` (ours) and ``To`` (theirs), as for an outbox message. Whether it did."""
        if status not in FAILED_DELIVERY or consequence(code) is not Consequence.WINDOW_CLOSED:
            return False
        ours, theirs = params.get("From", ""), params.get("To", "")
        if not (ours.startswith("whatsapp:") and theirs.startswith("whatsapp:")):
            return False  # another channel's window (Messenger's), which we do not keep
        await self.worker.gate.window_error(ours, theirs, at)
        log.warning(
            "status %s for %s (Twilio error %s), not in the outbox (a TwiML reply?): "
            "closed the WhatsApp window of %s with %s", status, sid, code, ours, theirs,
        )  # fmt: skip
        return True
