"""200 concurrent signed requests over 20 conversations, 10% duplicated: same as serial."""

from __future__ import annotations

import asyncio
import random

from bot.testing import Harness, Reply
from flows import build

CALLERS = [f"+1555000{n:04d}" for n in range(20)]
WORDS = ["hi", "1", "2", "3", "0", "menu", "a1001", "B2001", "what?", "Z9999", "where is it"]


def script(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Nine (sid, text) messages per caller."""
    out: dict[str, list[tuple[str, str]]] = {}
    for c, caller in enumerate(CALLERS):
        out[caller] = [(f"SM{c:02d}{i:030d}", rng.choice(WORDS)) for i in range(9)]
    return out


LogRow = tuple[str, str | None, str, str | None, str | None]
Snapshot = tuple[str, dict[str, object], int, list[LogRow]]


async def snapshot(h: Harness, caller: str) -> Snapshot:
    key = f"sms:+15550100000:{caller}"
    stored = await h.store.conversation(key)
    assert stored is not None
    log: list[LogRow] = [
        (str(e.direction), e.sid, e.body, e.state_before, e.state_after)
        for e in await h.store.log(key)
    ]
    return stored.state, stored.data, stored.version, log


async def test_concurrent_turns_equal_a_serial_replay_and_duplicates_step_once() -> None:
    rng = random.Random(20261122)
    plan = script(rng)
    sends = [(caller, sid, text) for caller, items in plan.items() for sid, text in items]
    duplicates = rng.sample(sends, 20)
    requests = sends + duplicates
    rng.shuffle(requests)
    assert len(requests) == 200

    async with Harness(build) as h:
        phones = {caller: h.phone(caller) for caller in CALLERS}
        replies = await asyncio.gather(
            *(phones[caller].send(text, sid=sid) for caller, sid, text in requests)
        )
        assert all(reply.status == 200 for reply in replies)
        by_sid: dict[str, set[str]] = {}
        for (_, sid, _), reply in zip(requests, replies, strict=True):
            by_sid.setdefault(sid, set()).add(reply.body)
        assert all(len(bodies) == 1 for bodies in by_sid.values()), "a duplicate got another answer"
        concurrent = {caller: await snapshot(h, caller) for caller in CALLERS}
        assert len(h.engine.locks) == 0

    for caller in CALLERS:
        state, data, version, log = concurrent[caller]
        inbound = [(sid, body) for direction, sid, body, _, _ in log if direction == "in"]
        assert len(inbound) == len({sid for sid, _ in inbound}) == 9, "a message stepped twice"
        assert version == 9
        # Replay the order the engine applied, one request at a time, on a fresh database.
        async with Harness(build) as serial:
            phone = serial.phone(caller)
            for logged, body in inbound:
                replayed: Reply = await phone.send(body, sid=logged)
                assert replayed.status == 200
            assert await snapshot(serial, caller) == (state, data, version, log)
