"""The outbound gate: the one consent and WhatsApp-window check every message passes.

Every message we send — a TwiML reply the engine renders, a REST send, a proactive message, a
reminder — is described as an :class:`Outgoing` and handed to :meth:`Gate.admit` (``engine.gate``)
right before it would reach Twilio. The answer is an :class:`Admission`:

- **opted out** (the person's latest consent change in the number's scope is an opt-out):
  refused with ``reason="opted_out"``. The only exception is our answer to their own keyword:
  ``purpose="consent"`` with exactly the configured opt-out confirmation or help text.
- **WhatsApp, free-form, window closed** (no inbound message from the person on this
  conversation within ``Compliance.window``, 24 h by default, or a 63016 error closed it):
  rewritten to the approved template configured for ``outgoing.template`` (``ContentSid`` and
  ``ContentVariables``, no body or media), or refused with ``reason="window_closed"`` when no
  template fits. A send that already carries a ``content_sid`` is a template and may go.
- otherwise allowed as it is.

:meth:`Gate.require` is the same check raising :class:`~bot.errors.OptedOut` /
:class:`~bot.errors.WindowClosed`, for code that wants an exception. Twilio's own verdicts
feed back through :meth:`Gate.carrier_opt_out` (error 21610, see ``bot.consent``) and
:meth:`Gate.window_error` (error 63016, see ``bot.window``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot.compliance.config import Compliance, NumberPolicy
from bot.compliance.consent import record_carrier_opt_out
from bot.compliance.contacts import read_contact
from bot.compliance.quiet import zone
from bot.compliance.window import close_window_after_63016, window_open
from bot.errors import BadRequest, OptedOut, OutboundRefused, WindowClosed
from bot.events.keys import ConversationKey
from bot.events.model import Channel, channel_of, strip_channel
from bot.twiml.messaging import Action, Message
from storage.protocols import ConsentStore
from storage.records import Contact, Purpose

__all__ = ["Admission", "Gate", "Outgoing", "Reason", "reply_outgoing"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message we want to send, described before it reaches Twilio."""

    channel: Channel  # bot.events.Channel
    ours: str  # our address as on the wire (+1… or whatsapp:+1…)
    theirs: str  # the person's address as on the wire
    body: str = ""
    media: tuple[str, ...] = ()
    content_sid: str | None = None
    content_variables: Mapping[str, str] | None = None
    template: str | None = None  # kind of message, to pick an approved template when closed
    purpose: Purpose = Purpose.REPLY

    @property
    def person(self) -> str:
        """The person's address without channel prefix (how the ledger names them)."""
        return strip_channel(self.theirs)

    @property
    def free_form(self) -> bool:
        """Whether this is free-form text/media rather than an approved template."""
        return self.content_sid is None


class Reason(StrEnum):
    """Why the gate refused a message, or (``TEMPLATE``) rewrote it into a template."""

    OPTED_OUT = "opted_out"
    WINDOW_CLOSED = "window_closed"
    TEMPLATE = "template"  # allowed, rewritten into the approved template for its kind
    UNKNOWN = "unknown"  # a <Message> the gate cannot describe: never sent


@dataclass(frozen=True, slots=True)
class Admission:
    """The gate's verdict: send ``outgoing`` (possibly rewritten to a template) or not."""

    allowed: bool
    outgoing: Outgoing  # possibly rewritten (free-form -> template with ContentSid/Variables)
    reason: Reason | None = None

    def raise_if_refused(self) -> Outgoing:
        """The outgoing message to send; :class:`OptedOut`/:class:`WindowClosed` if refused."""
        if self.allowed:
            return self.outgoing
        error: type[OutboundRefused] = OptedOut if self.reason is Reason.OPTED_OUT else WindowClosed
        raise error(
            f"not sending to {self.outgoing.theirs} from {self.outgoing.ours}: {self.reason}"
        )


class Gate:
    """The consent and window check for one engine (``engine.gate``)."""

    def __init__(self, store: ConsentStore, compliance: Compliance | None = None) -> None:
        self.store = store
        self.compliance = compliance or Compliance()

    def scope(self, ours: str) -> str:
        """The consent scope of our address ``ours`` (its Messaging Service, or the number)."""
        return self.compliance.scope(ours)

    async def contact(self, channel: Channel, ours: str, theirs: str) -> Contact:
        """What the store knows about the person: consent in our scope, their window."""
        return await read_contact(self.store, self.compliance, channel, ours, theirs)

    async def admit(self, outgoing: Outgoing, now: datetime) -> Admission:
        """Check ``outgoing`` against the consent ledger and the WhatsApp window at ``now``."""
        if outgoing.channel is Channel.VOICE:
            return Admission(True, outgoing)
        contact = await self.contact(outgoing.channel, outgoing.ours, outgoing.theirs)
        return self.decide(outgoing, contact, now)

    async def quiet_until(
        self, ours: str, theirs: str, purpose: Purpose, now: datetime
    ) -> datetime | None:
        """When a message of ``purpose`` to ``theirs`` may go, if not now (quiet hours,
        ``bot.compliance.quiet``); None for transactional messages and inside the window."""
        quiet = self.compliance.policy(ours).quiet
        if purpose.transactional or quiet is None:
            return None
        own = await self.store.contact_zone(strip_channel(theirs))
        return quiet.opens_at((own,) if own else self.compliance.zones(theirs), now)

    async def set_zone(self, theirs: str, name: str | None, at: datetime) -> None:
        """Record the person's own time zone for quiet hours (an IANA name; None: forget it,
        their number's applies again); :class:`~bot.errors.ConfigError` for an unknown one."""
        if name is not None:
            zone(name)
        await self.store.set_contact_zone(strip_channel(theirs), name, at)

    async def require(self, outgoing: Outgoing, now: datetime) -> Outgoing:
        """:meth:`admit`, raising :class:`OptedOut` or :class:`WindowClosed` when refused."""
        return (await self.admit(outgoing, now)).raise_if_refused()

    def decide(self, outgoing: Outgoing, contact: Contact, now: datetime) -> Admission:
        """The verdict for ``outgoing`` given what is known about the person (no I/O).

        The engine calls this with the person's state *after* the inbound message it is
        answering (their keyword applied, their window just reopened), which is not stored yet.
        """
        if outgoing.channel is Channel.VOICE:
            return Admission(True, outgoing)
        policy = self.compliance.policy(outgoing.ours)
        if contact.opted_out and not _answers_keyword(outgoing, policy):
            return Admission(False, outgoing, Reason.OPTED_OUT)
        if outgoing.channel is not Channel.WHATSAPP or not outgoing.free_form:
            return Admission(True, outgoing)
        if window_open(contact.last_inbound, now, self.compliance.window):
            return Admission(True, outgoing)
        template = policy.templates.get(outgoing.template) if outgoing.template else None
        if template is None:
            return Admission(False, outgoing, Reason.WINDOW_CLOSED)
        variables = {**template.variables, **(outgoing.content_variables or {})}
        rewritten = replace(
            outgoing, body="", media=(), content_sid=template.content_sid,
            content_variables=variables,
        )  # fmt: skip
        return Admission(True, rewritten, Reason.TEMPLATE)

    async def screen(
        self,
        actions: Sequence[Action],
        key: ConversationKey,
        contact: Contact,
        now: datetime,
        purpose: Purpose = Purpose.REPLY,
        read: list[Contact] | None = None,
    ) -> tuple[list[Action], list[Admission]]:
        """Pass a turn's TwiML replies through the gate: (those allowed, the refusals).

        ``contact`` is the person of ``key`` as of this turn. A ``<Message>`` to someone
        else (``to=``/``from_=``) is checked against the store, and what was read for it is
        appended to ``read`` (for the turn's commit to check). TwiML cannot carry a template,
        so a reply that would need one is refused as ``window_closed``.
        """
        kept: list[Action] = []
        refused: list[Admission] = []
        if not actions:
            return kept, refused
        # A plain reply on SMS to someone not opted out is allowed as it is (decide() says
        # so): no Outgoing, no Admission, no coroutine for it.
        plain = key.channel is Channel.SMS and not contact.opted_out
        for action in actions:
            if plain and type(action) is Message and action.to is None and action.from_ is None:
                kept.append(action)
                continue
            refusal = await self._refusal(action, key, contact, now, purpose, read)
            if refusal is None:
                kept.append(action)
            else:
                refused.append(refusal)
        return kept, refused

    async def _refusal(
        self,
        action: Action,
        key: ConversationKey,
        contact: Contact,
        now: datetime,
        purpose: Purpose,
        read: list[Contact] | None,
    ) -> Admission | None:
        """Why ``action`` may not be sent as TwiML, or None when it may."""
        if not isinstance(action, Message):
            if action.node().tag != "Message":
                return None  # voice verbs: not messages
            unknown = Outgoing(key.channel, key.ours, key.their, action.summary(), purpose=purpose)
            return Admission(False, unknown, Reason.UNKNOWN)  # a message we cannot describe: never
        try:
            outgoing = reply_outgoing(action, key, purpose)
        except BadRequest:  # to= on a channel we do not handle: we cannot screen it, so never
            unknown = Outgoing(key.channel, key.ours, key.their, action.summary(), purpose=purpose)
            return Admission(False, unknown, Reason.UNKNOWN)
        other = (outgoing.ours, outgoing.theirs) != (key.ours, key.their)
        if other and outgoing.channel is not Channel.VOICE:
            contact = await self.contact(outgoing.channel, outgoing.ours, outgoing.theirs)
            if read is not None:
                read.append(contact)
        verdict = self.decide(outgoing, contact, now)
        if verdict.allowed and (verdict.outgoing is outgoing or verdict.outgoing == outgoing):
            return None
        # refused, or allowed only as a template, which TwiML cannot send
        closed = Reason.WINDOW_CLOSED
        return Admission(False, outgoing, closed if verdict.allowed else verdict.reason)

    async def carrier_opt_out(
        self, ours: str, theirs: str, at: datetime, message_sid: str = ""
    ) -> bool:
        """Twilio answered a send with error 21610: record the opt-out (``consent``)."""
        return await record_carrier_opt_out(
            self.store, self.compliance, ours, theirs, at, message_sid
        )

    async def window_error(self, ours: str, theirs: str, at: datetime) -> bool:
        """Twilio answered a WhatsApp send with 63016: close our window (``window``)."""
        return await close_window_after_63016(self.store, ours, theirs, at)


def reply_outgoing(
    message: Message, key: ConversationKey, purpose: Purpose = Purpose.REPLY
) -> Outgoing:
    """The :class:`Outgoing` a TwiML ``<Message>`` in conversation ``key`` amounts to: on
    the channel of its ``to`` (a ``whatsapp:`` one from an SMS thread is WhatsApp, window
    and all), else the conversation's."""
    theirs = message.to or key.their
    channel = channel_of(theirs) if message.to and key.channel is not Channel.VOICE else key.channel
    return Outgoing(
        channel=channel, ours=message.from_ or key.ours, theirs=theirs,
        body=message.body, media=message.media, purpose=purpose,
    )  # fmt: skip


def _answers_keyword(outgoing: Outgoing, policy: NumberPolicy) -> bool:
    """Our answer to an opted-out person's own STOP or HELP: the configured text, nothing else."""
    return (
        outgoing.purpose is Purpose.CONSENT
        and outgoing.free_form
        and not outgoing.media
        and policy.consent_reply(outgoing.body)
    )
