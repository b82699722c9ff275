"""The outbox worker: claims stored messages, passes each through the gate, sends, records.

One message, once claimed (leased to this worker):

1. a recipient marked undeliverable is not tried again → ``failed``;
2. a message claimed again after its lease ran out, or whose last attempt timed out, may have
   reached Twilio already: it is looked up first (To, From, date, body) and, if found, recorded
   as accepted without sending it twice;
3. the consent/window gate decides, at send time → ``blocked`` when refused (a WhatsApp
   free-form send may be rewritten into an approved template);
4. segments and estimated cost are recorded (look-alikes replaced first when configured);
5. the sender's token bucket and the REST concurrency cap are waited for; the REST call;
6. ``accepted`` with Twilio's sid, or: transient error → ``pending`` again after backoff
   (``Retry-After`` honoured) until attempts run out; permanent error → ``failed``, with its
   consequence (21610 → consent ledger, 21211/21614 → undeliverable, 63016 → window).

Every step is appended to the message's history in the same transaction as its status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import quote

from bot.clock import Clock
from bot.compliance.gate import Gate, Outgoing
from bot.errors import ConfigError, RestError
from bot.events.model import Channel
from bot.observe.hooks import Observer
from bot.outbound.config import OutboundSettings
from bot.outbound.policy import Backoff, Consequence, consequence, is_transient
from bot.outbound.ratelimit import RateLimits
from bot.outbound.segments import count_segments, estimate_cost, smart_encode
from bot.outbound.sender import Sender
from storage.protocols import OutboxStore
from storage.records import OutboundMessage, OutboxChange, OutboxStatus

__all__ = ["TIMED_OUT", "ConsequenceHook", "OutboxWorker"]

log = logging.getLogger("switchboard.outbox")

TIMED_OUT = "no answer from Twilio (timeout)"
# Called with (message, Twilio error code, when) after a permanent error with a consequence.
ConsequenceHook = Callable[[OutboundMessage, int, datetime], Awaitable[None]]


class OutboxWorker:
    """Sends what the store's outbox holds through ``sender``. ``start()`` runs it in the
    background; without a sender (no credentials) messages wait in the outbox."""

    def __init__(
        self,
        store: OutboxStore,
        settings: OutboundSettings,
        clock: Clock,
        gate: Gate,
        *,
        sender: Sender | None = None,
        public_url: str | None = None,
        owner: str | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.gate = gate
        self.owner = owner or f"outbox-{uuid.uuid4().hex[:12]}"
        self.sender = sender
        self.observer = observer or Observer()  # told every change written (bot.observe)
        self.limits = RateLimits(settings.rates, settings.default_rates)
        self.backoff = Backoff(settings.backoff_base, settings.backoff_cap, settings.max_attempts)
        callback = settings.status_callback
        if callback is None and public_url:
            callback = public_url.rstrip("/") + "/twilio/status"
        self.status_callback = callback
        self.hooks: dict[Consequence, ConsequenceHook] = {
            Consequence.UNDELIVERABLE: self._undeliverable,
            Consequence.OPTED_OUT: self._opted_out,
            Consequence.WINDOW_CLOSED: self._window_closed,
        }
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Run the worker loop in the background (the app does this at startup)."""
        if self.sender is None:
            log.warning(
                "no Twilio credentials (TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN or an API key): "
                "outbound messages stay queued in the outbox"
            )
            return
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="switchboard-outbox")

    @property
    def running(self) -> bool:
        """Whether the background loop is alive (started, and not ended by an error)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Stop the loop (a claimed message's lease lets another worker pick it up) and close."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.sender is not None:
            await self.sender.close()

    def wake(self) -> None:
        """Look at the outbox now (something was just enqueued)."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("the outbox worker failed a round; retrying shortly")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.poll_seconds):
                        await self._wake.wait()
                self._wake.clear()

    async def run_once(self) -> int:
        """Claim one batch of due messages and process them all; returns how many."""
        if self.sender is None:
            return 0  # nothing can be sent: leave the messages unclaimed for a process that can
        now = self.clock.now()
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        claimed = await self.store.claim_outbox(self.owner, now, lease, self.settings.batch)
        # Send only well inside the lease, so no other worker can have taken the message over.
        deadline = lease - timedelta(seconds=self.settings.lease_seconds / 4)
        work = (self.process(m, deadline) for m in claimed)
        results = await asyncio.gather(*work, return_exceptions=True)
        for message, result in zip(claimed, results, strict=True):
            if isinstance(result, Exception):  # its lease runs out and it is tried again
                log.error("outbox message %s failed in the worker: %r", message.id, result)
        return len(claimed)

    async def drain(self, rounds: int = 1000) -> int:
        """Process due messages until none are left (tests and the CLI); returns how many."""
        total = 0
        for _ in range(rounds):
            done = await self.run_once()
            if not done:
                break
            total += done
        return total

    # -- one message ----------------------------------------------------------------------

    def _client(self) -> Sender:
        if self.sender is None:
            raise ConfigError("no Twilio credentials: set TWILIO_ACCOUNT_SID and a token or key")
        return self.sender

    async def _write(self, message: OutboundMessage, change: OutboxChange) -> None:
        if not await self.store.update_outbox(message.id, self.owner, change):
            log.warning("lost the lease on outbox message %s; another worker has it", message.id)
            return
        self.observer.outbox_change(message, change)

    async def process(self, message: OutboundMessage, deadline: datetime | None = None) -> None:
        """Take one claimed message to its next status (unsent if ``deadline`` has passed)."""
        async with self.observer.sending(message):
            await self._process(message, deadline)

    async def _process(self, message: OutboundMessage, deadline: datetime | None) -> None:
        now = self.clock.now()
        if message.undeliverable is not None:
            await self._write(message, OutboxChange(
                OutboxStatus.FAILED, "undeliverable", now, error_code=message.undeliverable,
                error=f"{message.theirs} was marked undeliverable ({message.undeliverable})",
            ))  # fmt: skip
            return
        if (message.reclaimed or message.error == TIMED_OUT) and await self._reconcile(message):
            return
        admitted = await self._admit(message, now)
        if admitted is None:
            return
        await self._send(admitted, message.attempts + 1, deadline)

    async def _reconcile(self, message: OutboundMessage) -> bool:
        """True when an earlier, unconfirmed attempt did reach Twilio (recorded as accepted)."""
        try:
            sid = await self._client().find_message(
                to=message.theirs, from_=message.ours, body=message.body,
                since=message.created_at - timedelta(minutes=1),
            )  # fmt: skip
        except RestError as exc:
            log.warning("could not check whether %s already went out: %s", message.id, exc)
            await self._retry(message, message.attempts, exc)
            return True
        if sid is None:
            return False
        await self._write(message, OutboxChange(
            OutboxStatus.ACCEPTED, "reconciled", self.clock.now(), sid=sid, delivery="queued",
            detail={"why": "an earlier attempt had reached Twilio"},
        ))  # fmt: skip
        return True

    async def _admit(self, message: OutboundMessage, now: datetime) -> OutboundMessage | None:
        """The message as the gate lets it go (maybe as a template), or None if blocked."""
        variables = json.loads(message.content_variables) if message.content_variables else None
        outgoing = Outgoing(
            Channel(message.channel), message.ours, message.theirs, body=message.body,
            media=message.media, content_sid=message.content_sid,
            content_variables=variables, template=message.template, purpose=message.purpose,
        )  # fmt: skip
        admission = await self.gate.admit(outgoing, now)
        if not admission.allowed:
            await self._write(message, OutboxChange(
                OutboxStatus.BLOCKED, "blocked", now, error=admission.reason,
                detail={"reason": admission.reason},
            ))  # fmt: skip
            return None
        out = admission.outgoing
        cvars = json.dumps(dict(out.content_variables)) if out.content_variables else None
        return replace(
            message, body=out.body, media=tuple(out.media), content_sid=out.content_sid,
            content_variables=cvars,
        )  # fmt: skip

    def _callback_url(self, message: OutboundMessage) -> str | None:
        if not self.status_callback:
            return None
        joiner = "&" if "?" in self.status_callback else "?"
        return f"{self.status_callback}{joiner}ob={quote(message.id, safe='')}"

    async def _send(
        self, message: OutboundMessage, attempt: int, deadline: datetime | None = None
    ) -> None:
        rest = self._client()
        body = smart_encode(message.body) if self.settings.smart_encoding else message.body
        info = count_segments(body)
        if message.content_sid is None and info.segments > self.settings.segment_warning:
            log.warning(
                "outbox message %s is %d segments (%s); the warning threshold is %d",
                message.id, info.segments, info.encoding, self.settings.segment_warning,
            )  # fmt: skip
        cost = estimate_cost(info.segments, self.settings.price_per_segment)
        await self.limits.acquire(message.ours)
        if deadline is not None and self.clock.now() >= deadline:
            # Waited so long for the rate limit that the lease is nearly over: hand it back.
            await self._write(message, OutboxChange(
                OutboxStatus.PENDING, "released", self.clock.now(), due_at=self.clock.now(),
                detail={"why": "the rate limit outlasted the lease"},
            ))  # fmt: skip
            return
        try:
            created = await rest.create_message(
                to=message.theirs, from_=message.ours, body=body, media=message.media,
                content_sid=message.content_sid, content_variables=message.content_variables,
                status_callback=self._callback_url(message),
            )  # fmt: skip
        except RestError as exc:
            await self._failed(message, attempt, exc)
            return
        await self._write(message, OutboxChange(
            OutboxStatus.ACCEPTED, "sent", self.clock.now(), attempts=attempt, sid=created.sid,
            delivery=created.status, segments=created.segments or info.segments,
            encoding=str(info.encoding), cost=str(cost), body=body,
            content_sid=message.content_sid, content_variables=message.content_variables,
            detail={"template": message.content_sid} if message.content_sid else {},
        ))  # fmt: skip

    async def _failed(self, message: OutboundMessage, attempt: int, exc: RestError) -> None:
        if is_transient(exc.code, exc):
            await self._retry(message, attempt, exc)
            return
        now = self.clock.now()
        await self._write(message, OutboxChange(
            OutboxStatus.FAILED, "rejected", now, attempts=attempt, error_code=exc.code,
            error=str(exc),
        ))  # fmt: skip
        await self.after_permanent(message, exc.code, now)

    async def _retry(self, message: OutboundMessage, attempt: int, exc: RestError) -> None:
        now = self.clock.now()
        error = TIMED_OUT if exc.timeout else str(exc)
        if self.backoff.exhausted(attempt):
            await self._write(message, OutboxChange(
                OutboxStatus.FAILED, "gave-up", now, attempts=attempt, error_code=exc.code,
                error=error, detail={"attempts": attempt},
            ))  # fmt: skip
            return
        wait = self.backoff.delay(attempt, exc.retry_after)
        await self._write(message, OutboxChange(
            OutboxStatus.PENDING, "retry", now, due_at=now + wait, attempts=attempt,
            error_code=exc.code, error=error,
            detail={"wait_seconds": round(wait.total_seconds(), 3)},
        ))  # fmt: skip

    async def after_permanent(
        self, message: OutboundMessage, code: int | None, at: datetime
    ) -> None:
        """Apply what a permanent error code says about the recipient (ledger, window, …)."""
        hook = self.hooks.get(consequence(code))
        if hook is not None and code is not None:
            await hook(message, code, at)

    async def _undeliverable(self, message: OutboundMessage, code: int, at: datetime) -> None:
        await self.store.mark_undeliverable(message.theirs, code, at)

    async def _opted_out(self, message: OutboundMessage, code: int, at: datetime) -> None:
        await self.gate.carrier_opt_out(message.ours, message.theirs, at, message.sid or "")
        self.observer.consent_change("", "carrier", "opted_out")

    async def _window_closed(self, message: OutboundMessage, code: int, at: datetime) -> None:
        await self.gate.window_error(message.ours, message.theirs, at)
