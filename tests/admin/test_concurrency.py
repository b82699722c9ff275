"""Operator actions racing live signed webhooks on the same conversation, on both backends:
in one process (the engine's lock orders them) and from a second runtime on the same
database (the store's advisory lock or version guard does). No step lost, none doubled, and
each action's audit entry committed with it."""

from __future__ import annotations

import asyncio
import random
from typing import Any
from urllib.parse import quote

import pytest

from bot.testing import Harness
from tests.admin.conftest import Api, console_app, path

KEY = "sms:+15550100000:+15550001111"
WEBHOOKS = 24
MOVES = 12


async def _race(traffic: Harness, operator: Api) -> None:
    phone = traffic.phone("+15550001111")
    await phone.send("hi")
    rng = random.Random(12)

    async def webhook(n: int) -> None:
        await asyncio.sleep(rng.random() / 200)
        reply = await phone.send("3", sid=f"SM{0xACE0000 + n:032x}")
        assert reply.status == 200 and reply.messages  # every webhook answered

    async def move(n: int) -> None:  # moves, data edits and resets, each its own step
        await asyncio.sleep(rng.random() / 200)
        state = ("question", "menu", "order_lookup")[n % 3]
        actions: list[tuple[str, dict[str, Any]]] = [
            ("move", {"state": state}), ("data", {"data": {"n": n}}), ("reset", {}),
        ]  # fmt: skip
        action, body = actions[n % 3]
        status, answer = await operator.post(path(KEY) + "/" + action, body)
        assert status == 200, answer

    await asyncio.gather(*[webhook(n) for n in range(WEBHOOKS)], *[move(n) for n in range(MOVES)])


async def _check(harness: Harness, api: Api) -> None:
    conversation = await harness.store.conversation(KEY)
    assert conversation is not None
    # one version per webhook, per move, and the first message: nothing lost, nothing twice
    assert conversation.version == 1 + WEBHOOKS + MOVES
    inbound = [e.sid for e in await harness.store.log(KEY) if e.direction == "in"]
    assert len(inbound) == 1 + WEBHOOKS and len(set(inbound)) == len(inbound)
    _, audit = await api.get("/admin/api/audit?conversation=" + quote(KEY))
    moves = audit["audit"]
    assert len(moves) == MOVES
    assert {a["action"] for a in moves} == {"move", "edit_data", "reset"}
    versions = sorted(a["after"]["version"] for a in moves)
    assert len(set(versions)) == MOVES  # every move is its own step


async def test_moves_racing_webhooks_in_one_process(harness: Harness, api: Api) -> None:
    await _race(harness, api)
    await _check(harness, api)


async def test_moves_from_another_process_racing_webhooks(database: str) -> None:
    async with (
        Harness(console_app, database_url=database) as traffic,
        Harness(console_app, database_url=database) as operators,
    ):
        await _race(traffic, Api(operators))
        await _check(traffic, Api(traffic))


@pytest.mark.parametrize("run_callbacks", [True])
async def test_a_stale_version_is_refused_not_applied(
    harness: Harness, api: Api, run_callbacks: bool
) -> None:
    await harness.phone("+15550001111").send("hi")
    _, shown = await api.get(path(KEY))
    seen = shown["conversation"]["version"]
    await harness.phone("+15550001111").send("1")  # the person moves on meanwhile
    status, body = await api.post(
        path(KEY) + "/move", {"state": "menu", "version": seen, "run_callbacks": run_callbacks}
    )
    assert status == 409 and "changed since you looked" in body["error"]
    assert (await harness.store.conversation(KEY)).state == "question"  # type: ignore[union-attr]
