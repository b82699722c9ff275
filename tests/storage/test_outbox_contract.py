"""The outbox and timer part of the store contract, on every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from storage import Store
from storage.records import OutboundMessage, OutboxChange, OutboxStatus, Timer
from tests.storage.test_contract import conv, write

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LEASE = T0 + timedelta(minutes=2)


def message(i: int = 1, to: str = "+15550001111", **kw: object) -> OutboundMessage:
    fields: dict[str, object] = dict(
        id=f"OB{i:032x}",
        channel="sms",
        ours="+15550100000",
        theirs=to,
        body=f"hello {i} 👋",
        due_at=T0,
        created_at=T0,
        media=("https://x/a.jpg",),
        flow="notify",
    )
    fields.update(kw)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


async def test_enqueue_is_idempotent_and_round_trips(store: Store) -> None:
    assert await store.enqueue([message(1), message(2)]) == 2
    assert await store.enqueue([message(1)]) == 0
    got = await store.outbox_message(message(1).id)
    assert got is not None
    assert (got.body, got.media, got.status, got.due_at, got.flow) == (
        "hello 1 👋", ("https://x/a.jpg",), "pending", T0, "notify",
    )  # fmt: skip
    assert [e.event for e in await store.outbox_history(message(1).id)] == ["queued"]


async def test_claims_lease_due_rows_once_until_the_lease_runs_out(store: Store) -> None:
    await store.enqueue([message(1), message(2, due_at=T0 + timedelta(hours=1))])
    [claimed] = await store.claim_outbox("a", T0, LEASE, 10)
    assert claimed.id == message(1).id and not claimed.reclaimed
    assert await store.claim_outbox("b", T0, LEASE, 10) == []
    [again] = await store.claim_outbox("b", LEASE, LEASE + timedelta(minutes=2), 10)
    assert again.id == message(1).id and again.reclaimed
    change = OutboxChange(
        OutboxStatus.ACCEPTED, "sent", T0, attempts=1, sid="SM1", delivery="queued"
    )
    assert not await store.update_outbox(message(1).id, "a", change)  # lost the lease
    assert await store.update_outbox(message(1).id, "b", change)
    got = await store.outbox_message(message(1).id)
    assert got is not None and (got.status, got.sid, got.delivery) == ("accepted", "SM1", "queued")


async def test_concurrent_claims_never_share_a_row(store: Store) -> None:
    await store.enqueue([message(i) for i in range(30)])
    batches = await asyncio.gather(*(store.claim_outbox(f"w{i}", T0, LEASE, 7) for i in range(6)))
    ids = [m.id for batch in batches for m in batch]
    assert len(ids) == len(set(ids)) == 30


async def test_claim_reports_undeliverable_recipients(store: Store) -> None:
    await store.mark_undeliverable("+15550002222", 21614, T0)
    await store.enqueue([message(1, to="+15550002222"), message(2)])
    claimed = {m.id: m.undeliverable for m in await store.claim_outbox("a", T0, LEASE, 10)}
    assert claimed == {message(1).id: 21614, message(2).id: None}


async def accepted(store: Store, i: int, sid: str) -> None:
    await store.enqueue([message(i)])
    await store.claim_outbox("a", T0, LEASE, 10)
    change = OutboxChange(OutboxStatus.ACCEPTED, "sent", T0, attempts=1, sid=sid, delivery="queued")
    assert await store.update_outbox(message(i).id, "a", change)


async def test_delivery_statuses_apply_monotonically(store: Store) -> None:
    await accepted(store, 1, "SM1")
    for status in ("delivered", "sent", "delivered", "read", "failed"):
        await store.apply_delivery(None, "SM1", status, None, T0)
    got = await store.outbox_message(message(1).id)
    assert got is not None and got.delivery == "read"
    events = [(e.event, e.status) for e in await store.outbox_history(message(1).id)]
    assert events[-5:] == [
        ("status", "delivered"), ("status-ignored", "sent"), ("status-ignored", "delivered"),
        ("status", "read"), ("status-ignored", "failed"),
    ]  # fmt: skip
    assert await store.apply_delivery(None, "SMunknown", "sent", None, T0) is None


async def test_a_transient_failure_puts_the_message_back_and_old_sids_go_stale(
    store: Store,
) -> None:
    await accepted(store, 1, "SM1")
    retry = T0 + timedelta(minutes=1)
    update = await store.apply_delivery(message(1).id, "SM1", "undelivered", 30003, T0, retry)
    assert update is not None and update.applied
    assert (update.message.status, update.message.due_at) == ("pending", retry)
    await store.claim_outbox("a", retry, retry + timedelta(minutes=2), 10)
    change = OutboxChange(
        OutboxStatus.ACCEPTED, "sent", retry, attempts=2, sid="SM2", delivery="queued"
    )
    assert await store.update_outbox(message(1).id, "a", change)
    late = await store.apply_delivery(message(1).id, "SM1", "delivered", None, retry)
    assert late is not None and not late.applied
    got = await store.outbox_message(message(1).id)
    assert got is not None and (got.sid, got.delivery) == ("SM2", "queued")


async def test_delivery_report_groups_by_flow_and_number(store: Store) -> None:
    await accepted(store, 1, "SM1")
    await accepted(store, 2, "SM2")
    await store.apply_delivery(None, "SM1", "delivered", None, T0)
    await store.apply_delivery(None, "SM2", "undelivered", 30005, T0)
    [row] = await store.delivery_report("flow")
    assert (row.group, row.total, row.delivered, row.rate) == ("notify", 2, 1, 0.5)
    with pytest.raises(ValueError):
        await store.delivery_report("body")


def timer(name: str = "remind", state: str | None = "waiting", due: datetime = T0) -> Timer:
    c = conv()
    return Timer(c.key, name, name, "support", "sms", c.ours, c.theirs, due, state, {"n": 1})


async def test_timers_are_set_claimed_and_cancelled_with_turns(store: Store) -> None:
    c = conv(state="waiting")
    first = replace(write(c), timers=[timer(), timer("keep", state=None)])
    await store.commit(first)
    claimed = await store.claim_timers("a", T0, LEASE, 10)
    assert sorted(t.name for t in claimed) == ["keep", "remind"]
    assert claimed[0].payload == {"n": 1}
    assert await store.claim_timers("b", T0, LEASE, 10) == []  # leased
    # the conversation leaves `waiting`: its timer goes; the unbound one stays
    await store.commit(replace(write(conv(version=2, state="menu")), fired=None))
    assert [t.name for t in await store.claim_timers("c", LEASE, LEASE, 10)] == ["keep"]
    assert await store.finish_timer(timer("keep", state=None)) is True  # dropped here
    assert await store.finish_timer(timer("keep", state=None)) is False  # already gone
    assert await store.claim_timers("d", LEASE + timedelta(hours=1), LEASE, 10) == []


async def test_a_fired_timer_is_deleted_with_its_turn_even_when_rolled_back(store: Store) -> None:
    await store.commit(replace(write(conv(state="waiting")), timers=[timer()]))
    fired = replace(write(conv(version=2, state="waiting"), save_state=False), fired=timer())
    await store.commit(fired)
    assert await store.claim_timers("a", T0 + timedelta(days=1), LEASE, 10) == []


async def test_turn_outbox_rows_commit_with_the_turn(store: Store) -> None:
    await store.commit(replace(write(conv()), outbox=[message(7)]))
    assert await store.outbox_message(message(7).id) is not None
    rolled_back = replace(write(conv(version=2), save_state=False), outbox=[message(8)])
    await store.commit(rolled_back)
    assert await store.outbox_message(message(8).id) is None
