"""Phone verification over Twilio Verify: the :class:`~bot.flow.verification.Verifier` flows
get as ``turn.verify``.

Each call is awaited inside the turn with ``VerifyConfig.timeout`` (4 s by default): the
flow needs the answer to decide what to say (a code went out, or why not; the code was right
or wrong), and both requests are small, so an outbox-like deferred send would only move the
decision to a later turn. The timeout keeps a slow Verify within the webhook's budget: a
request that does not answer in time is ``unavailable`` (the flow says so and lets the
person ask again). A send is not retried by us: Verify itself refuses duplicates beyond its
limits, and our per-number limit is counted before the request.

Before a code goes out by SMS or WhatsApp the person's consent is read: an opted-out person
(STOP) gets no code by message (``opted_out``); a code by call is not a message and is not
screened. Without ``ours`` (a flow calling ``turn.verify.send`` itself) an opt-out in any of
our scopes counts. Codes are never stored, logged or kept: the person's reply goes straight to
:meth:`check` (the engine masks it in the conversation's log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock
from bot.compliance.gate import Gate
from bot.errors import RestError
from bot.events.model import Channel, strip_channel
from bot.flow.verification import ERROR_OUTCOMES, Checked, Sent, VerifyChannel, VerifyOutcome
from bot.outbound.verify_config import VerifyConfig
from storage.protocols import VerifyLimitStore
from storage.records import OPTED_OUT

__all__ = ["TwilioVerify", "VerifyApi"]

log = logging.getLogger("switchboard.verify")


class VerifyApi(Protocol):
    """The two Verify requests (:class:`bot.outbound.rest.TwilioRest` implements them)."""

    async def verify(self, service: str, *, to: str, channel: str) -> str: ...

    async def verify_check(self, service: str, *, to: str, code: str) -> str: ...


def _outcome(exc: RestError) -> VerifyOutcome:
    return ERROR_OUTCOMES.get(exc.code or 0, VerifyOutcome.UNAVAILABLE)


@dataclass(frozen=True)
class TwilioVerify:
    """Codes through Twilio Verify, with our own per-number limit (see the module doc)."""

    api: VerifyApi
    config: VerifyConfig
    store: VerifyLimitStore
    gate: Gate
    clock: Clock

    async def send(self, to: str, channel: VerifyChannel, *, ours: str = "") -> Sent:
        """Ask Verify to send ``to`` a code by ``channel``."""
        service = self.config.service_sid
        if service is None:
            log.warning("no verification sent to %s: TWILIO_VERIFY_SERVICE_SID is not set", to)
            return Sent(VerifyOutcome.UNAVAILABLE, channel)
        if channel is not VerifyChannel.CALL and await self._opted_out(to, channel, ours):
            log.info("no verification code by %s to %s: they opted out", channel, to)
            return Sent(VerifyOutcome.OPTED_OUT, channel)
        window = timedelta(seconds=self.config.window_seconds)
        now = self.clock.now()
        if not await self.store.take_verify_send(to, now, window, self.config.max_sends):
            log.info("no verification sent to %s: our per-number limit is reached", to)
            return Sent(VerifyOutcome.RATE_LIMITED, channel)
        try:
            status = await self.api.verify(service, to=to, channel=channel.value)
        except RestError as exc:
            log.info("Verify refused a send to %s by %s: %s", to, channel, exc)
            return Sent(_outcome(exc), channel, exc.code)
        return Sent(
            VerifyOutcome(status) if status in set(VerifyOutcome) else VerifyOutcome.PENDING,
            channel,
        )

    async def check(self, to: str, code: str) -> Checked:
        """Check the person's reply; the code is passed on and forgotten."""
        service = self.config.service_sid
        if service is None:
            return Checked(VerifyOutcome.UNAVAILABLE)
        try:
            status = await self.api.verify_check(service, to=to, code=code)
        except RestError as exc:
            log.info("Verify refused a check for %s: %s", to, exc)  # no code in it
            return Checked(_outcome(exc), exc.code)
        return Checked(VerifyOutcome.APPROVED if status == "approved" else VerifyOutcome.PENDING)

    async def _opted_out(self, to: str, channel: VerifyChannel, ours: str) -> bool:
        if not ours:  # no number of ours to scope it by: an opt-out in any scope counts
            latest = {c.scope: c.status for c in await self.gate.store.consent_history(
                strip_channel(to))}  # fmt: skip
            return OPTED_OUT in latest.values()
        wire = Channel.WHATSAPP if channel is VerifyChannel.WHATSAPP else Channel.SMS
        contact = await self.gate.contact(wire, ours, to)
        return contact.opted_out
