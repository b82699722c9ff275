"""Consent: STOP/START/HELP as global transitions, and the consent ledger's writers.

:func:`before_flow` runs in the engine for every inbound message, inside the conversation's
lock and before the flow's trigger; what it decides is committed in the same transaction as
the turn. For the message's number (keywords per ``bot.compliance``):

- **opt-out keyword** (STOP, ...): ledger entry, the opt-out confirmation, the flow does not
  run and its state is kept. Every later message to the person from that scope is refused by
  ``bot.gate``. A STOP from someone already opted out is logged and not answered.
- **help keyword** (HELP, INFO): the help text; state untouched; the flow does not run.
- **opt-in keyword** (START, ...) **from an opted-out person**: ledger entry, the opt-in
  confirmation, then the flow resumes where it was, or restarts when the flow class says
  ``on_opt_in = "restart"``. From someone who is not opted out, "YES"/"START" is ordinary
  text for the flow (flows ask yes/no questions).
- **anything else from an opted-out person**: logged, no answer, the flow does not run.

When Twilio's Advanced Opt-Out already answered (the request carries ``OptOutType``), its
verdict is recorded the same way but we send no second confirmation.

Writers outside a turn: :func:`record_carrier_opt_out` for error **21610** (Twilio refused a
send because the person opted out: we record it with source ``carrier``), and
:func:`set_consent` for an operator, the API or an import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from bot.compliance.config import Compliance, Keywords, normalise
from bot.compliance.contacts import read_contact
from bot.compliance.revocation import Revocation, revokes
from bot.events.keys import ConversationKey
from bot.events.model import Channel, Event, strip_channel
from bot.twiml.messaging import Message
from storage.protocols import ConsentStore
from storage.records import (
    OPTED_IN,
    OPTED_OUT,
    ConsentChange,
    ConsentSource,
    ConsentStatus,
    Contact,
)

__all__ = [
    "Inbound",
    "Keyword",
    "before_flow",
    "keyword_of",
    "record_carrier_opt_out",
    "set_consent",
]

log = logging.getLogger("switchboard.compliance")

OPT_OUT_ERROR = "21610"


class Keyword(StrEnum):
    """Which consent keyword a message is."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


_ADVANCED = {"STOP": Keyword.OPT_OUT, "START": Keyword.OPT_IN, "HELP": Keyword.HELP}


def keyword_of(
    text: str, keywords: Keywords, revocation: Revocation = Revocation.KEYWORDS
) -> Keyword | None:
    """The keyword ``text`` is (whole message, see ``bot.compliance.normalise``), or None;
    under ``revocation`` a short phrase that clearly revokes consent is an opt-out too."""
    word = normalise(text)
    if word in keywords.opt_out:
        return Keyword.OPT_OUT
    if word in keywords.opt_in:
        return Keyword.OPT_IN
    if word in keywords.help:
        return Keyword.HELP
    return Keyword.OPT_OUT if revokes(text, revocation) else None


@dataclass
class Inbound:
    """What the global transitions decided for one inbound message."""

    contact: Contact  # the person as they are after this message (not stored yet)
    keyword: Keyword | None = None
    changes: list[ConsentChange] = field(default_factory=list)
    replies: list[Message] = field(default_factory=list)  # consent answers (purpose "consent")
    run_flow: bool = True
    restart: bool = False  # START with on_opt_in = "restart": enter the flow afresh

    @property
    def meta(self) -> dict[str, str]:
        """What the message log notes about the inbound message."""
        if self.keyword is not None and not self.run_flow:
            return {"keyword": self.keyword.value}
        return {} if self.run_flow else {"suppressed": "opted_out"}


async def before_flow(
    store: ConsentStore,
    compliance: Compliance,
    event: Event,
    key: ConversationKey,
    now: datetime,
    on_opt_in: str = "resume",
) -> Inbound:
    """Apply the consent keywords and window bookkeeping to ``event`` (see the module doc)."""
    contact = await read_contact(store, compliance, key.channel, key.ours, key.their)
    if key.channel is Channel.WHATSAPP:
        contact = replace(contact, last_inbound=now)
    policy = compliance.policy(key.ours)
    texts = policy.texts
    params = event.params  # a multi-dict: its get() costs more than a membership test
    advanced = params.get("OptOutType", "").strip().upper() if "OptOutType" in params else ""
    keyword = _ADVANCED.get(advanced) if advanced else None
    if keyword is None:
        keyword = keyword_of(event.text, policy.keywords, policy.revocation)

    def change(status: ConsentStatus) -> list[ConsentChange]:
        how = f"{advanced} (Advanced Opt-Out)" if advanced else repr(event.text)
        person, scope = strip_channel(key.their), compliance.scope(key.ours)
        detail = f"{how}, {event.sid}"
        return [
            ConsentChange(
                person, scope, status, ConsentSource.KEYWORD, now, key.channel.value, detail
            )
        ]

    def say(text: str) -> list[Message]:
        return [] if advanced else [Message(text)]

    if keyword is Keyword.OPT_OUT:
        if contact.opted_out:  # already out: only opt-in and help keywords are answered
            log.info("opt-out %s in %s not answered: %s had opted out already",
                     event.sid, key.id, key.their)  # fmt: skip
            return Inbound(contact, keyword, run_flow=False)
        out = replace(contact, opted_out=True)
        return Inbound(out, keyword, change(OPTED_OUT), say(texts.opted_out), run_flow=False)
    if keyword is Keyword.HELP:
        return Inbound(contact, keyword, [], say(texts.help), run_flow=False)
    if keyword is Keyword.OPT_IN and (contact.opted_out or advanced):
        changes = change(OPTED_IN) if contact.opted_out else []
        back = replace(contact, opted_out=False)
        restart = contact.opted_out and on_opt_in == "restart"
        return Inbound(back, keyword, changes, say(texts.opted_in), False, restart)
    if contact.opted_out:
        log.info(
            "message %s in %s not passed to the flow: %s has opted out (a START opts back in)",
            event.sid, key.id, key.their,
        )  # fmt: skip
        return Inbound(contact, None, run_flow=False)
    return Inbound(contact, None)


async def set_consent(
    store: ConsentStore,
    compliance: Compliance,
    ours: str,
    theirs: str,
    opted_in: bool,
    at: datetime,
    *,
    source: ConsentSource | str = ConsentSource.OPERATOR,
    detail: str = "",
) -> ConsentChange:
    """Record a consent change made outside a conversation (operator, API, import).

    ``source`` is a :class:`ConsentSource` (or its value); :class:`ValueError` otherwise.
    """
    try:
        source = ConsentSource(source)
    except ValueError:
        known = ", ".join(s.value for s in ConsentSource)
        raise ValueError(f"consent source must be one of {known}, got {source!r}") from None
    change = ConsentChange(
        strip_channel(theirs), compliance.scope(ours), OPTED_IN if opted_in else OPTED_OUT, source,
        at, _channel(theirs), detail,
    )  # fmt: skip
    await store.record_consent(change)
    return change


async def record_carrier_opt_out(
    store: ConsentStore, compliance: Compliance, ours: str, theirs: str, at: datetime,
    message_sid: str = "",
) -> bool:  # fmt: skip
    """Twilio error 21610 for a send from ``ours`` to ``theirs``: record their opt-out.

    Returns False (and records nothing) when the ledger already has them opted out.
    """
    contact = await store.contact(compliance.scope(ours), strip_channel(theirs), None)
    if contact.opted_out:
        return False
    detail = f"error {OPT_OUT_ERROR}" + (f" on {message_sid}" if message_sid else "")
    await set_consent(
        store, compliance, ours, theirs, False, at, source=ConsentSource.CARRIER, detail=detail
    )
    return True


def _channel(address: str) -> str:
    return (Channel.WHATSAPP if address.startswith("whatsapp:") else Channel.SMS).value
