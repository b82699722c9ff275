"""The outbox worker: claims stored messages, passes each through the gate, sends, records.

One message, once claimed (leased to this worker):

1. a recipient marked undeliverable is not tried again → ``failed``;
2. an *unsettled* attempt (its request was stored, its answer never was: a timeout, a broken
   connection, a crash) is settled first (:mod:`bot.outbound.settle`): after
   ``settle_seconds`` the recipient's messages at Twilio since the attempt are compared
   with the request as sent; found → ``accepted``; not found → sent again (at least once)
   or ``failed`` as unconfirmed (at most once), per purpose;
3. a non-transactional message outside the recipient's quiet hours is held → ``pending``
   until the window opens (``bot.compliance.quiet``);
4. the gate decides (consent, WhatsApp window) → ``blocked``; a circuit open after an
   outage → ``pending`` "waiting for Twilio", no attempt counted;
5. the sender's token bucket is waited for; then, **at the last moment**, the gate decides
   again and the exact request and start time are stored in the transaction that checks
   the consent ledger as committed (:meth:`~storage.protocols.OutboxStore.begin_attempt`):
   a STOP committed before it wins; only then the REST call;
6. ``accepted`` with Twilio's sid; no answer → unsettled (step 2); transient error →
   ``pending`` after capped backoff with jitter until the purpose's horizon; permanent →
   ``failed`` with its consequence (21610 ledger, 21211/21614 undeliverable, 63016 window).

Each step joins the message's history in its status's transaction; each message held,
blocked, released or failed leaves a log line saying why.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.compliance.gate import Gate, Outgoing
from bot.errors import ConfigError, RestError
from bot.events.model import Channel, strip_channel
from bot.observe.hooks import Observer
from bot.outbound.background import Background
from bot.outbound.circuit import Circuit
from bot.outbound.config import OutboundSettings, Side
from bot.outbound.policy import Backoff, Consequence, consequence, is_transient
from bot.outbound.ratelimit import RateLimits
from bot.outbound.segments import count_segments, estimate_cost
from bot.outbound.sender import Sender
from bot.outbound.settle import pick, settles_at
from bot.outbound.wire import Wire, callback_url, create_arguments, wire_request
from storage.protocols import OutboxStore
from storage.records import (
    Attempt,
    AttemptStart,
    OutboundMessage,
    OutboxChange,
    OutboxStatus,
)
from storage.rules import WAITING

__all__ = ["ConsequenceHook", "OutboxWorker"]

log = logging.getLogger("switchboard.outbox")

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
        self.circuit = Circuit(
            clock.now, settings.circuit_threshold, settings.circuit_cooldown, settings.backoff_cap
        )
        callback = settings.status_callback
        if callback is None and public_url:
            callback = public_url.rstrip("/") + "/twilio/status"
        self.status_callback = callback
        self.hooks: dict[Consequence, ConsequenceHook] = {
            Consequence.UNDELIVERABLE: self._undeliverable,
            Consequence.OPTED_OUT: self._opted_out,
            Consequence.WINDOW_CLOSED: self._window_closed,
        }
        self.loop = Background(
            "switchboard-outbox", self._round, self.settings.poll_seconds, log=log,
            failed="the outbox worker failed a round; retrying shortly",
        )  # fmt: skip

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Run the worker loop in the background (the app does this at startup)."""
        if self.sender is not None and not self.status_callback:
            log.warning(
                "no status callback URL (set SWITCHBOARD_PUBLIC_URL or "
                "SWITCHBOARD_STATUS_CALLBACK_URL): messages are sent without StatusCallback, "
                "so delivery statuses, failures after acceptance (30003, 30005, 21610) and "
                "delivery retries are never seen"
            )
        if self.sender is None:
            log.warning(
                "no Twilio credentials (TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN or an API key): "
                "outbound messages stay queued in the outbox"
            )
            return
        self.loop.start()

    @property
    def running(self) -> bool:
        """Whether the background loop is alive (started, and not ended by an error)."""
        return self.loop.running

    async def stop(self) -> None:
        """Stop the loop (a claimed message's lease lets another worker pick it up) and close."""
        await self.loop.stop()
        if self.sender is not None:
            await self.sender.close()

    def wake(self) -> None:
        """Look at the outbox now (something was just enqueued)."""
        self.loop.wake()

    async def _round(self) -> bool:
        return bool(await self.run_once())  # something was due: look again at once

    async def run_once(self) -> int:
        """Claim one batch of due messages and process them all; returns how many."""
        if self.sender is None:
            return 0  # nothing can be sent: leave the messages unclaimed for a process that can
        now = self.clock.now()
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        claimed = await self.store.claim_outbox(self.owner, now, lease, self.settings.batch)
        # Send only well inside the lease, so no other worker can have taken the message over.
        deadline = lease - timedelta(seconds=self.settings.lease_seconds / 4)
        # One recipient's messages go one after another, oldest first (a batch can hold several
        # turns' messages to one person: sent at once, they reached Twilio in any order), and a
        # turn's own in the order the flow sent them (their ids: new_message_id); different
        # recipients' go in parallel.
        threads: dict[tuple[str, str], list[OutboundMessage]] = {}
        for m in sorted(claimed, key=lambda m: (m.due_at, m.created_at, m.id)):  # id: compose
            threads.setdefault((m.ours, m.theirs), []).append(m)
        await asyncio.gather(*(self._in_order(t, deadline) for t in threads.values()))
        return len(claimed)

    async def _in_order(self, thread: list[OutboundMessage], deadline: datetime) -> None:
        for message in thread:
            try:
                await self.process(message, deadline)
            except Exception as exc:  # its lease runs out and it is tried again
                log.error("outbox message %s failed in the worker: %r", message.id, exc)

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

    async def _pending(
        self, message: OutboundMessage, event: str, due: datetime, why: str, *,
        waiting: bool = False, settled: bool = True, **detail: Any,
    ) -> None:  # fmt: skip
        """Back to the outbox, due at ``due``, no attempt counted; logged with ``why``."""
        log.info("outbox message %s %s until %s: %s", message.id, event, due.isoformat(), why)
        error = f"{WAITING}: {why}" if waiting else None
        await self._write(message, OutboxChange(
            OutboxStatus.PENDING, event, self.clock.now(), due_at=due, error=error,
            settled=settled, detail={"why": why, **detail},
        ))  # fmt: skip

    async def process(self, message: OutboundMessage, deadline: datetime | None = None) -> None:
        """Take one claimed message to its next status (unsent if ``deadline`` has passed)."""
        async with self.observer.sending(message):
            await self._process(message, deadline)

    async def _process(self, message: OutboundMessage, deadline: datetime | None) -> None:
        now = self.clock.now()
        if message.undeliverable is not None:
            await self._fail(message, "undeliverable", now, error_code=message.undeliverable,
                             error=f"{message.theirs} was marked undeliverable")  # fmt: skip
            return
        if message.unsettled and await self._settle(message, now):
            return
        held = await self.gate.quiet_until(message.ours, message.theirs, message.purpose, now)
        if held is not None:
            await self._pending(message, "held", held, "outside the recipient's quiet hours")
            return
        if self.circuit.is_open:
            await self._pending(
                message,
                "waiting",
                self.circuit.reopens_at(self.backoff.rng),
                "circuit open",
                waiting=True,
            )
            return
        if await self._admit(message, now) is not None:  # early: no rate token for a refusal
            await self._send(message, message.attempts + 1, deadline)

    async def _circuit_open(self, message: OutboundMessage) -> None:
        due = self.circuit.reopens_at(self.backoff.rng)
        await self._pending(message, "waiting", due, "circuit open", waiting=True)

    async def _fail(self, message: OutboundMessage, event: str, now: datetime, **kw: Any) -> None:
        log.warning("outbox message %s failed (%s): %s", message.id, event, kw.get("error"))
        await self._write(message, OutboxChange(OutboxStatus.FAILED, event, now, **kw))

    async def _settle(self, message: OutboundMessage, now: datetime) -> bool:
        """Settle an attempt with no known outcome; False when the message is to be sent."""
        if message.attempt_at is None or message.wire is None:
            return False
        ready = settles_at(message.attempt_at, self.settings.settle_seconds)
        if now < ready:
            await self._pending(message, "settling", ready, "waiting for a late create to show",
                                waiting=True, settled=False)  # fmt: skip
            return True
        since = message.attempt_at - timedelta(seconds=self.settings.clock_skew)
        try:
            wire = message.wire
            found = await self._client().sent_since(to=wire["To"], from_=wire["From"], since=since)
        except RestError as exc:
            await self._retry(message, message.attempts, exc, settled=False)
            return True
        hit = await pick(self.store, found, message.wire)
        if hit is not None:
            await self._write(message, OutboxChange(
                OutboxStatus.ACCEPTED, "reconciled", now, sid=hit.sid, delivery="queued",
                detail={"why": "the unanswered attempt reached Twilio", "looked_at": len(found)},
            ))  # fmt: skip
            return True
        if self.settings.side(message.purpose) is Side.AT_MOST_ONCE:
            await self._fail(message, "unconfirmed", now, error="no answer from Twilio and not "
                             "found at Twilio; not sent again (at most once)")  # fmt: skip
            return True
        log.info("outbox message %s: its unanswered attempt is not at Twilio; sending again",
                 message.id)  # fmt: skip
        return False

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
            await self._blocked(message, now, str(admission.reason))
            return None
        out = admission.outgoing
        cvars = json.dumps(dict(out.content_variables)) if out.content_variables else None
        return replace(
            message, body=out.body, media=tuple(out.media), content_sid=out.content_sid,
            content_variables=cvars,
        )  # fmt: skip

    async def _blocked(self, message: OutboundMessage, now: datetime, reason: str) -> None:
        log.info("outbox message %s to %s blocked: %s", message.id, message.theirs, reason)
        await self._write(message, OutboxChange(
            OutboxStatus.BLOCKED, "blocked", now, error=reason, detail={"reason": reason},
        ))  # fmt: skip

    async def _send(
        self, message: OutboundMessage, attempt: int, deadline: datetime | None = None
    ) -> None:
        await self.limits.acquire(message.ours)
        now = self.clock.now()
        if deadline is not None and now >= deadline:
            # Waited so long for the rate limit that the lease is nearly over: hand it back.
            await self._pending(message, "released", now, "the rate limit outlasted the lease")
            return
        admitted = await self._admit(message, now)  # the last moment: after every wait
        if admitted is None:
            return
        if not self.circuit.admit():
            await self._pending(
                message,
                "waiting",
                self.circuit.reopens_at(self.backoff.rng),
                "circuit open",
                waiting=True,
            )
            return
        callback = callback_url(self.status_callback, message.id)
        wire = wire_request(admitted, self.settings.smart_encoding, callback)
        # Every row, whatever its purpose: our answers to keywords are TwiML, never outbox rows.
        consent = (strip_channel(message.theirs), self.gate.scope(message.ours))
        started = await self.store.begin_attempt(
            message.id, self.owner, Attempt(attempt, wire, now, consent)
        )
        if started is not AttemptStart.STARTED:
            self.circuit.release()
            if started is AttemptStart.OPTED_OUT:
                await self._blocked(message, now, "opted_out")
            else:
                log.warning("lost the lease on outbox message %s before sending", message.id)
            return
        await self._call(admitted, attempt, wire)

    async def _call(self, message: OutboundMessage, attempt: int, wire: Wire) -> None:
        info = count_segments(wire.get("Body", ""))
        if message.content_sid is None and info.segments > self.settings.segment_warning:
            log.warning(
                "outbox message %s is %d segments (%s); the warning threshold is %d",
                message.id, info.segments, info.encoding, self.settings.segment_warning,
            )  # fmt: skip
        try:
            created = await self._client().create_message(**create_arguments(wire))
        except RestError as exc:
            await self._failed(message, attempt, exc)
            return
        self.circuit.succeeded()
        cost = estimate_cost(info.segments, self.settings.price_per_segment)
        await self._write(message, OutboxChange(
            OutboxStatus.ACCEPTED, "sent", self.clock.now(), attempts=attempt, sid=created.sid,
            delivery=created.status, segments=created.segments or info.segments,
            encoding=str(info.encoding), cost=str(cost), body=wire.get("Body", ""),
            content_sid=message.content_sid, content_variables=message.content_variables,
            detail={"template": message.content_sid} if message.content_sid else {},
        ))  # fmt: skip

    async def _failed(self, message: OutboundMessage, attempt: int, exc: RestError) -> None:
        if exc.status is None or exc.status >= 500:
            self.circuit.failed()
        else:
            self.circuit.succeeded()  # Twilio answered
        now = self.clock.now()
        if exc.status is None and not exc.unreached:  # it may have gone out: settle it later
            ready = settles_at(now, self.settings.settle_seconds)
            await self._pending(message, "unanswered", ready, str(exc), waiting=True,
                                settled=False)  # fmt: skip
            return
        if is_transient(exc.code, exc):
            await self._retry(message, attempt, exc)
            return
        await self._fail(message, "rejected", now, attempts=attempt, error_code=exc.code,
                         http_status=exc.status, error=str(exc))  # fmt: skip
        await self.after_permanent(message, exc.code, now)

    async def _retry(
        self, message: OutboundMessage, attempt: int, exc: RestError, *, settled: bool = True
    ) -> None:
        """Pending again after backoff, or ``failed`` once the purpose's horizon has passed."""
        now = self.clock.now()
        wait = self.backoff.delay(attempt, exc.retry_after)
        end = message.created_at + self.settings.horizon(message.purpose)
        if now + wait > end:
            await self._fail(message, "gave-up", now, attempts=attempt, error_code=exc.code,
                             http_status=exc.status, error=f"{exc} (retried until {end:%H:%M})",
                             detail={"attempts": attempt})  # fmt: skip
            return
        log.info("outbox message %s: %s; retrying in %.0f s", message.id, exc, wait.total_seconds())
        await self._write(message, OutboxChange(
            OutboxStatus.PENDING, "retry", now, due_at=now + wait, attempts=attempt,
            error_code=exc.code, http_status=exc.status, error=f"{WAITING}: {exc}",
            settled=settled, detail={"wait_seconds": round(wait.total_seconds(), 3)},
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
