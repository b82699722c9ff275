"""asyncpg or psycopg 3 (async) for storage/postgres/: the same two store calls, timed.

A turn costs the store a *load* (one query: idempotency hit or the conversation row) and a
*commit* (one transaction: idempotency insert, guarded conversation update, log insert).
This times exactly those statements with each driver, sequentially (latency) and from 32
concurrent tasks over a pool of 10 (throughput), on the PostgreSQL at ``--url``.

    pip install 'psycopg[binary]' psycopg_pool   # only for this comparison
    python bench/pg_drivers.py --url postgresql://postgres@127.0.0.1:5432/test --turns 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

DDL = """
CREATE TABLE conversations (key text PRIMARY KEY, state text NOT NULL, data jsonb NOT NULL,
    version integer NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE idempotency (key text PRIMARY KEY, conversation text NOT NULL,
    response text NOT NULL, at timestamptz NOT NULL);
CREATE TABLE message_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation text NOT NULL, body text NOT NULL, at timestamptz NOT NULL, meta jsonb NOT NULL);
"""
LOAD = """SELECT (SELECT response FROM idempotency WHERE key = ANY({a}::text[]) LIMIT 1),
    c.key, c.state, c.data, c.version FROM (VALUES (1)) one (x)
    LEFT JOIN conversations c ON c.key = {b}"""
IDEM = "INSERT INTO idempotency VALUES ({a}, {b}, '<Response/>', {c}) ON CONFLICT DO NOTHING"
UPDATE = """UPDATE conversations SET state = 's', data = {a}::jsonb, version = version + 1,
    updated_at = {b} WHERE key = {c}"""
LOG = "INSERT INTO message_log (conversation, body, at, meta) VALUES ({a}, 'hi', {b}, '{{}}')"
DATA = json.dumps({"tickets": ["a question"] * 3, "last_order": "A1001"})


def dollar(sql: str) -> str:
    return sql.format(a="$1", b="$2", c="$3")


def percent(sql: str) -> str:
    return sql.format(a="%s", b="%s", c="%s")


class AsyncpgDriver:
    name = "asyncpg"

    async def start(self, url: str, schema: str) -> None:
        import asyncpg

        settings = {"search_path": schema}
        self.pool = await asyncpg.create_pool(
            url, min_size=10, max_size=10, server_settings=settings
        )

    async def turn(self, key: str, sid: str) -> None:
        now = datetime.now(UTC)
        async with self.pool.acquire() as conn:
            await conn.fetchrow(dollar(LOAD), [sid], key)
            async with conn.transaction():
                await conn.execute(dollar(IDEM), sid, key, now)
                await conn.execute(dollar(UPDATE), DATA, now, key)
                await conn.execute(dollar(LOG), key, now)

    async def stop(self) -> None:
        await self.pool.close()


class PsycopgDriver:
    name = "psycopg3"

    async def start(self, url: str, schema: str) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(
            url,
            min_size=10,
            max_size=10,
            open=False,
            kwargs={"options": f"-c search_path={schema}"},
        )
        await self.pool.open(wait=True)

    async def turn(self, key: str, sid: str) -> None:
        now = datetime.now(UTC)
        async with self.pool.connection() as conn:
            cur = await conn.execute(percent(LOAD), ([sid], key), prepare=True)
            await cur.fetchone()
            await conn.commit()
            async with conn.transaction():
                await conn.execute(percent(IDEM), (sid, key, now), prepare=True)
                await conn.execute(percent(UPDATE), (DATA, now, key), prepare=True)
                await conn.execute(percent(LOG), (key, now), prepare=True)

    async def stop(self) -> None:
        await self.pool.close()


async def setup(url: str) -> str:
    import asyncpg

    schema = f"sb_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    await conn.execute(f"CREATE SCHEMA {schema}; SET search_path = {schema}; {DDL}")
    await conn.executemany(
        "INSERT INTO conversations VALUES ($1, 's', '{}', 1, now())",
        [(f"k{i}",) for i in range(64)],
    )
    await conn.close()
    return schema


async def drop(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await conn.close()


async def sequential(turn: Callable[[str, str], Awaitable[None]], turns: int) -> list[float]:
    times = []
    for i in range(turns):
        started = time.perf_counter()
        await turn(f"k{i % 64}", f"SM{uuid.uuid4().hex}")
        times.append(time.perf_counter() - started)
    return times


async def concurrent(turn: Callable[[str, str], Awaitable[None]], turns: int) -> float:
    counter = iter(range(turns))

    async def worker(w: int) -> None:
        for _ in counter:
            await turn(f"k{w}", f"SM{uuid.uuid4().hex}")  # one conversation per task

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(32)))
    return turns / (time.perf_counter() - started)


async def run(driver: Any, url: str, turns: int) -> dict[str, float]:
    schema = await setup(url)
    try:
        await driver.start(url, schema)
        await sequential(driver.turn, 200)  # warm up: connections, prepared statements
        times = await sequential(driver.turn, turns)
        rate = await concurrent(driver.turn, turns)
        await driver.stop()
    finally:
        await drop(url, schema)
    ms = sorted(t * 1000 for t in times)
    return {
        "median_ms": statistics.median(ms),
        "p99_ms": ms[int(len(ms) * 0.99)],
        "turns_per_s_32_tasks": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--turns", type=int, default=2000)
    args = parser.parse_args()
    for driver in (AsyncpgDriver(), PsycopgDriver()):
        try:
            figures = asyncio.run(run(driver, args.url, args.turns))
        except ImportError as exc:
            print(f"{driver.name}: not installed ({exc.name})")
            continue
        print(f"{driver.name:9s} load+commit per turn: median {figures['median_ms']:.3f} ms, "
              f"p99 {figures['p99_ms']:.3f} ms; {figures['turns_per_s_32_tasks']:.0f} turns/s "
              "from 32 tasks over 10 connections")  # fmt: skip


if __name__ == "__main__":
    main()
