"""More of the outbox/timer contract, on SQLite and PostgreSQL: what a turn's commit does to
timers and messages, lease ownership, and claims from several stores at once (several
processes, as far as the database can tell) where every due row goes to exactly one claimer.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.errors import ConflictError
from storage import Store, open_store
from storage.records import (
    Conversation,
    OutboundMessage,
    OutboxChange,
    OutboxStatus,
    Timer,
    TurnWrite,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LEASE = T0 + timedelta(minutes=1)
KEY = "sms:+15550100000:+15550001111"


def message(n: int, due: datetime = T0, **kw: Any) -> OutboundMessage:
    fields: dict[str, Any] = dict(
        channel="sms", ours="+15550100000", theirs=f"+1555000{n:04d}", body=f"hello {n}",
        due_at=due, created_at=T0 - timedelta(minutes=5), conversation=KEY, flow="notify",
    )  # fmt: skip
    fields.update(kw)
    return OutboundMessage(id=f"m{n}", **fields)


def timer(name: str, due: datetime = T0, state: str | None = None) -> Timer:
    return Timer(KEY, name, "beep", "notify", "sms", "+15550100000", "+15550001111", due,
                 state=state, payload={"n": name})  # fmt: skip


def turn(version: int, state: str = "idle", closed: bool = False, **kw: Any) -> TurnWrite:
    c = Conversation(KEY, "notify", state, {}, version, "sms", "+15550100000", "+15550001111",
                     closed=closed)  # fmt: skip
    return TurnWrite(c, (), kw.pop("idem", (f"SM{version}",)), "<Response/>", T0, **kw)


async def test_one_enqueue_of_many_counts_each_new_id_once(store: Store) -> None:
    batch = [message(n) for n in range(200)] + [message(7), message(300)]
    assert await store.enqueue(batch) == 201
    assert await store.enqueue([message(n) for n in range(195, 205)]) == 5
    assert [h.event for h in await store.outbox_history("m7")] == ["queued"]
    assert await store.enqueue([]) == 0


async def test_concurrent_claimers_never_share_a_message(url: str) -> None:
    stores = [open_store(url, auto_migrate=True) for _ in range(4)]
    for s in stores:
        await s.open()
    try:
        await stores[0].enqueue([message(n) for n in range(120)])

        async def worker(s: Store, name: str) -> list[str]:
            got: list[str] = []
            while batch := await s.claim_outbox(name, T0, LEASE, 7):
                got += [m.id for m in batch]
            return got

        results = await asyncio.gather(*(worker(s, f"w{i}") for i, s in enumerate(stores)))
        claimed = [mid for got in results for mid in got]
        assert sorted(claimed) == sorted(f"m{n}" for n in range(120))  # each exactly once
    finally:
        for s in stores:
            await s.close()


async def test_only_the_lease_owner_writes_the_outcome(store: Store) -> None:
    await store.enqueue([message(1)])
    await store.claim_outbox("w1", T0, LEASE, 10)
    sent = OutboxChange(
        OutboxStatus.ACCEPTED, "sent", T0, attempts=1, sid="SMaaa", delivery="queued", segments=1,
        encoding="GSM-7", cost="0.0079", detail={"http": 201},
    )  # fmt: skip
    assert await store.update_outbox("m1", "w2", sent) is False
    assert await store.update_outbox("m1", "w1", sent) is True
    assert await store.update_outbox("m1", "w1", sent) is False  # lease released
    stored = await store.outbox_message("m1")
    assert stored is not None
    assert (stored.status, stored.sid, stored.delivery, stored.attempts) == (
        "accepted", "SMaaa", "queued", 1,
    )  # fmt: skip
    assert (stored.segments, stored.encoding, stored.cost) == (1, "GSM-7", "0.0079")
    history = await store.outbox_history("m1")
    assert [(h.event, h.status, h.sid, h.detail) for h in history][1:] == [
        ("sent", "accepted", "SMaaa", {"http": 201})
    ]


async def test_a_retry_puts_the_message_back_for_later(store: Store) -> None:
    await store.enqueue([message(1)])
    await store.claim_outbox("w1", T0, LEASE, 10)
    later = T0 + timedelta(seconds=30)
    retry = OutboxChange(
        OutboxStatus.PENDING, "retry", T0, due_at=later, attempts=1, error_code=20429,
        error="Too many requests",
    )  # fmt: skip
    assert await store.update_outbox("m1", "w1", retry)
    assert await store.claim_outbox("w1", T0 + timedelta(seconds=29), LEASE, 10) == []
    [again] = await store.claim_outbox("w1", later, later + timedelta(minutes=1), 10)
    assert (again.attempts, again.error_code, again.reclaimed) == (1, 20429, False)


async def test_a_refused_turn_enqueues_nothing(store: Store) -> None:
    await store.commit(turn(1))
    with pytest.raises(ConflictError):
        await store.commit(turn(5, outbox=[message(1)], timers=[timer("t")]))
    assert await store.commit(turn(2, idem=("SM1",), outbox=[message(2)])) == "<Response/>"
    assert await store.outbox_message("m1") is None and await store.outbox_message("m2") is None
    assert await store.claim_timers("r", T0, LEASE, 10) == []


async def test_leaving_a_state_cancels_its_timers_and_closing_cancels_all(store: Store) -> None:
    timers = [timer("nudge", state="waiting"), timer("remind"), timer("other", state="waiting")]
    await store.commit(turn(1, state="waiting", timers=timers))
    await store.commit(turn(2, state="idle", timers=[timer("again", state="idle")]))
    names = {t.name for t in await store.claim_timers("r", T0, LEASE, 10)}
    assert names == {"remind", "again"}
    await store.commit(turn(3, state="done", closed=True, timers=[timer("late")]))
    assert await store.claim_timers("r2", LEASE, LEASE, 10) == []


async def test_a_timer_set_again_replaces_the_one_that_fired(store: Store) -> None:
    await store.commit(turn(1, timers=[timer("beep")]))
    [fired] = await store.claim_timers("r", T0, LEASE, 10)
    again = T0 + timedelta(minutes=30)
    await store.commit(turn(2, fired=fired, timers=[timer("beep", again)]))
    assert await store.claim_timers("r", again - timedelta(seconds=1), LEASE, 10) == []
    [next_one] = await store.claim_timers("r2", again, again, 10)
    assert next_one.due_at == again


async def test_finishing_a_timer_spares_one_rescheduled_meanwhile(store: Store) -> None:
    await store.commit(turn(1, timers=[timer("beep")]))
    [fired] = await store.claim_timers("r", T0, LEASE, 10)
    await store.commit(turn(2, timers=[timer("beep", T0 + timedelta(hours=1))]))
    assert await store.finish_timer(fired) is False  # the old due time: the new one stays
    later = T0 + timedelta(hours=1)
    [kept] = await store.claim_timers("r", later, later, 10)
    await store.finish_timer(kept)
    assert await store.claim_timers("r", later + timedelta(days=1), later, 10) == []


async def test_concurrent_timer_runners_fire_each_timer_once(url: str) -> None:
    stores = [open_store(url, auto_migrate=True) for _ in range(3)]
    for s in stores:
        await s.open()
    try:
        many = [timer(f"t{n}", T0 + timedelta(seconds=n)) for n in range(60)]
        await stores[0].commit(turn(1, timers=many))
        now = T0 + timedelta(minutes=5)
        results = await asyncio.gather(
            *(s.claim_timers(f"r{i}", now, now + timedelta(minutes=1), 25)
              for i, s in enumerate(stores))
        )  # fmt: skip
        names = [t.name for got in results for t in got]
        assert len(names) == 60 and len(set(names)) == 60
    finally:
        for s in stores:
            await s.close()
