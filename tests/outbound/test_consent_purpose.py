"""Purpose ``consent`` is the framework's own answer to a person's keyword, and only TwiML.

Regression (guarantees under attack, 2026-11-24): the gate lets a ``consent`` message carrying
the configured help or opt-out text reach an opted-out person (our answer to their own STOP or
HELP), and the worker skipped its last-moment ledger check for that purpose. A flow's
``turn.send(..., purpose="consent")`` or ``start_conversation(purpose=CONSENT)`` could
therefore text someone who had opted out, long after their STOP. Both are refused now, and
the worker checks the ledger for every row. SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from bot import Flow, Router, T, Turn, start_conversation
from bot.compliance.config import Texts
from bot.engine.compose import new_message_id
from bot.errors import ConfigError
from bot.testing import Harness
from storage.records import OutboundMessage, OutboxStatus, Purpose
from tests.outbound.conftest import CALLER, OURS

OTHER = "+15550009999"


class Nagging(Flow):
    """Sends the help text to someone else, as if it answered their HELP."""

    name = "nagging"
    initial = "idle"
    states = ["idle"]
    transitions = [T("message", "idle", None, after="nag"), T("start", "idle", None)]

    def nag(self, turn: Turn) -> None:
        turn.send(Texts().help, to=OTHER, purpose="consent")


def harness(url: str) -> Harness:
    return Harness.of([Nagging], Router(default="nagging"), database_url=url)


async def opt_out(h: Harness, number: str) -> None:
    await h.phone(number).send("hi")
    assert "unsubscribed" in (await h.phone(number).send("STOP")).body


async def test_a_flow_cannot_send_with_the_consent_purpose(database_url: str) -> None:
    async with harness(database_url) as h:
        await opt_out(h, OTHER)
        await h.phone(CALLER).send("hi")
        reply = await h.phone(CALLER).send("nag them")
        assert "went wrong" in reply.body  # the step raised: nothing of it is stored
        await h.drain()
        assert h.twilio is not None and h.twilio.sent() == []
        assert await h.store.delivery_report("theirs") == []
        with pytest.raises(ConfigError, match="consent"):
            await start_conversation(h.engine, "nagging", OTHER, from_=OURS,
                                     purpose=Purpose.CONSENT)  # fmt: skip


async def test_a_stored_consent_row_to_an_opted_out_person_is_blocked(database_url: str) -> None:
    async with harness(database_url) as h:
        await opt_out(h, OTHER)
        now = h.clock.now()
        row = OutboundMessage(
            new_message_id(), "sms", OURS, OTHER, Texts().help, now, now, purpose=Purpose.CONSENT
        )
        await h.store.enqueue([row])  # as an earlier version let a flow queue it
        await h.drain()
        assert h.twilio is not None and h.twilio.sent() == []
        stored = await h.store.outbox_message(row.id)
        assert stored is not None and stored.status is OutboxStatus.BLOCKED
        assert stored.error == "opted_out"
