"""The live stream: server-sent events when a conversation (or the list) changes, from
webhooks and operator actions alike; behind the same token as the rest of the API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from urllib.parse import parse_qsl, quote, urlsplit

import asyncpg

from bot.testing import Harness
from tests.admin.conftest import ALICE, Api, console_app, path

KEY = "sms:+15550100000:+15550001111"


async def _events(
    harness: Harness, query: str, count: int, during: Sequence[Awaitable[object]]
) -> list[str]:
    """The first ``count`` ``change`` events of the stream while ``during`` runs."""
    assert harness.app is not None
    client = harness.app.test_client()
    headers = {"Authorization": f"Bearer {ALICE}"}
    seen: list[str] = []
    async with client.request("/admin/api/stream" + query, headers=headers) as connection:
        await connection.send_complete()

        async def read() -> None:
            buffer = ""
            while len(seen) < count:
                buffer += (await connection.receive()).decode()
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    if block.startswith("event: change"):
                        seen.append(block.split("data: ", 1)[1])

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.2)
        for step in during:
            await step
            await asyncio.sleep(0.15)
        await asyncio.wait_for(reader, 5)
        await connection.disconnect()
    return seen


async def test_a_conversation_stream_reports_webhooks_and_actions(
    harness: Harness, api: Api
) -> None:
    phone = harness.phone("+15550001111")
    await phone.send("hi")
    steps = [phone.send("2"), api.post(path(KEY) + "/move", {"state": "menu"})]
    seen = await _events(harness, "?conversation=" + quote(KEY), 3, steps)
    assert len(seen) == 3 and len(set(seen)) == 3  # the state now, then one per change


async def test_the_list_stream_reports_new_conversations(harness: Harness) -> None:
    steps = [harness.phone("+15550003333").send("hi")]
    seen = await _events(harness, "", 2, steps)
    assert seen[0] == "[0, 0, 0, 0, 0, 0]" and seen[1] != seen[0]


async def test_the_list_mark_moves_when_an_earlier_id_commits_last(
    postgres_schema_url: str,
) -> None:
    """On PostgreSQL ids are handed out when a row is inserted, not when it commits: a turn
    that got log id 1 can commit after one that got id 2. The list's mark was the highest id,
    so a console that read the list after id 2 never heard of id 1's turn (its mark did not
    move) until something else changed."""
    async with Harness(console_app, database_url=postgres_schema_url) as harness:
        ops = harness.runtime.admin
        assert ops is not None
        schema = dict(parse_qsl(urlsplit(postgres_schema_url).query))["schema"]
        server = postgres_schema_url.split("?")[0]
        row = (
            "INSERT INTO message_log (conversation, direction, kind, body, at, channel, media, "
            "meta) VALUES ($1, 'in', 'message', 'hi', now(), 'sms', '[]', '{}')"
        )
        slow, fast = await asyncpg.connect(server), await asyncpg.connect(server)
        try:
            for c in (slow, fast):
                await c.execute(f'SET search_path TO "{schema}"')
            late = slow.transaction()
            await late.start()
            await slow.execute(row, "sms:+15550100000:+15550000001")  # takes id 1
            await fast.execute(row, "sms:+15550100000:+15550000002")  # id 2, committed
            seen = await ops.change_mark()
            await late.commit()  # id 1 shows only now
            assert await ops.change_mark() != seen
        finally:
            await slow.close()
            await fast.close()
