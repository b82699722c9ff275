"""One person's messages reach Twilio in the order their turns queued them."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.engine.compose import new_message_id
from bot.testing import Harness
from storage.records import OutboundMessage
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


async def test_one_turns_messages_are_sent_in_the_order_the_flow_sent_them(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A turn's messages share their due and creation times, and neither database promises the
    # order in which a claim returns rows (PostgreSQL's UPDATE … RETURNING has none): the
    # claim is handed back reversed here, and the order the flow sent them in must survive.
    worker = h.runtime.outbox
    claim = worker.store.claim_outbox

    async def reversed_claim(*args: object) -> list[OutboundMessage]:
        return list(reversed(await claim(*args)))  # type: ignore[arg-type]

    monkeypatch.setattr(worker.store, "claim_outbox", reversed_claim)
    phone = h.phone(CALLER)
    await phone.send("hi")
    await phone.send("burst")
    assert await h.drain() == 3
    assert h.twilio is not None
    assert [m.body for m in h.twilio.sent(CALLER)] == ["one", "two", "three"]


def test_outbox_ids_grow_in_the_order_they_are_made() -> None:
    ids = [new_message_id() for _ in range(10_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 34 and i.startswith("OB") and int(i[2:], 16) >= 0 for i in ids)
    made = datetime.fromtimestamp(int(ids[-1][2:18], 16) / 1e9)
    assert abs((made - datetime.now()).total_seconds()) < 60
