"""One person's messages reach Twilio in the order their turns queued them."""

from __future__ import annotations

from bot.testing import Harness
from tests.outbound.conftest import CALLER


async def test_one_recipients_messages_in_one_batch_are_sent_in_turn_order(h: Harness) -> None:
    # Two turns' messages to one person wait in the outbox (the worker was busy, or the
    # store was down), and one claim takes both. The first create is slow to answer: sent at
    # once, the second overtook it and the person read the answers out of order.
    phone = h.phone(CALLER)
    await phone.send("hi")
    await phone.send("ping")
    await phone.send("quote")
    assert h.twilio is not None
    h.twilio.fail_next(delay=0.3, create_anyway=True)  # accepted, after 0.3 s
    assert await h.drain() == 2
    assert [m.body for m in h.twilio.sent(CALLER)] == ["pong", "It’s “fine” — really"]
