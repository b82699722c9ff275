"""A messaging turn on PostgreSQL: round trips, turns/s and p99, against plain asyncpg.

``Engine.handle`` runs the example flows' SMS traffic (1,000 callers, the support menu
script) on a :class:`~storage.postgres.PostgresStore` in a fresh schema. Every statement a
turn sends is counted and recorded by wrapping asyncpg's ``Connection.execute`` (a simple
query: one round trip) and ``Connection._execute`` (every query with arguments: fetch,
fetchrow, fetchval, execute with arguments; one round trip once the statement is prepared,
which the warm-up does). Then the recorded statements are replayed turn by turn, in the same
order and with the same arguments, by a plain asyncpg loop into another fresh schema: the
same round trips and the same server work without the framework, the floor a turn could
reach on this driver. Both run at each concurrency over a pool of ``--pool`` connections.

    python -m bench.pg_turn --url postgresql://postgres@127.0.0.1:5432/test --turns 3000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from werkzeug.datastructures import MultiDict

from bench.common import percentile, say
from bench.traffic import sms_traffic
from bot.compliance.gate import Gate
from bot.engine.engine import Engine
from bot.events.parse import parse_inbound
from bot.flow.definition import compile_flow
from flows import EXAMPLE_FLOWS, example_router
from storage.dialect import dumps
from storage.postgres import PostgresStore

__all__ = ["PgTurns", "pg_turn_bench"]

WARMUP = 300
Statement = tuple[str, tuple[Any, ...]]
_turn: contextvars.ContextVar[list[Statement] | None] = contextvars.ContextVar(
    "bench_pg_turn", default=None
)


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Record each statement sent on any asyncpg connection into the running turn's list."""
    execute, _execute = asyncpg.Connection.execute, asyncpg.Connection._execute

    async def simple(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
        if not args and (turn := _turn.get()) is not None:
            turn.append((query, ()))
        return await execute(self, query, *args, **kw)

    async def extended(
        self: asyncpg.Connection, query: str, args: Any, *more: Any, **kw: Any
    ) -> Any:
        if (turn := _turn.get()) is not None:
            turn.append((query, tuple(args)))
        return await _execute(self, query, args, *more, **kw)

    asyncpg.Connection.execute, asyncpg.Connection._execute = simple, extended
    try:
        yield
    finally:
        asyncpg.Connection.execute, asyncpg.Connection._execute = execute, _execute


@dataclass
class PgTurns:
    """One run: turns, per-turn latencies (µs), elapsed seconds, statements per turn."""

    turns: int
    latencies: list[float]
    seconds: float
    round_trips: float
    cpu_us: float  # this process's CPU per turn (the client side: framework or loop + driver)

    @property
    def rate(self) -> float:
        return self.turns / self.seconds

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)


async def _workers(count: int, jobs: list[Any], one: Any) -> list[float]:
    queue = list(reversed(jobs))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            job = queue.pop()
            start = time.perf_counter_ns()
            await one(job)
            latencies.append((time.perf_counter_ns() - start) / 1000)

    await asyncio.gather(*(worker() for _ in range(count)))
    return latencies


async def _engine_pass(
    url: str, schema: str, turns: int, concurrency: int, pool: int
) -> tuple[PgTurns, list[list[Statement]]]:
    store = PostgresStore(url, schema=schema, auto_migrate=True, pool_max=pool)
    compiled = {flow.name: compile_flow(flow) for flow in EXAMPLE_FLOWS}
    engine = Engine(store, compiled, example_router(), Gate(store))
    events = [parse_inbound(MultiDict(p)) for p in sms_traffic(turns + WARMUP, 1000)]
    recorded: list[list[Statement]] = []

    async def one(event: Any) -> None:
        statements: list[Statement] = []
        token = _turn.set(statements)
        try:
            await engine.handle(event)
        finally:
            _turn.reset(token)
        recorded.append(statements)

    await store.open()
    try:
        with recording():
            await _workers(concurrency, events[:WARMUP], one)
            start, cpu = time.perf_counter(), time.process_time()
            latencies = await _workers(concurrency, events[WARMUP:], one)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        await store.close()
    trips = sum(len(t) for t in recorded[WARMUP:]) / turns
    return PgTurns(turns, latencies, seconds, trips, cpu * 1e6 / turns), recorded


async def _plain_pass(
    url: str, schema: str, recorded: list[list[Statement]], concurrency: int, pool: int
) -> PgTurns:
    """The recorded statements, replayed by plain asyncpg into a fresh schema."""
    migrated = PostgresStore(url, schema=schema, auto_migrate=True)
    await migrated.open()
    await migrated.close()
    conns = await asyncpg.create_pool(
        url, min_size=pool, max_size=pool, server_settings={"search_path": schema},
        reset=_nothing, init=_jsonb,
    )  # fmt: skip

    async def one(statements: list[Statement]) -> None:
        async with conns.acquire() as conn:
            for query, args in statements:
                await (conn.fetch(query, *args) if args else conn.execute(query))

    try:
        await _workers(1, recorded[:WARMUP], one)  # warm-up in order: the same states
        start, cpu = time.perf_counter(), time.process_time()
        latencies = await _workers(concurrency, recorded[WARMUP:], one)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        await conns.close()
    trips = sum(len(t) for t in recorded[WARMUP:]) / len(latencies)
    return PgTurns(len(latencies), latencies, seconds, trips, cpu * 1e6 / len(latencies))


async def _jsonb(conn: asyncpg.Connection) -> None:
    """The store's codec: jsonb arguments go as Python objects."""
    await conn.set_type_codec("jsonb", encoder=dumps, decoder=json.loads, schema="pg_catalog")


async def _nothing(conn: asyncpg.Connection) -> None:
    """No reset query (the store's pool sends none either)."""


async def _drop(url: str, schemas: list[str]) -> None:
    conn = await asyncpg.connect(url)
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def pg_turn_bench(
    url: str, *, turns: int, concurrency: int, pool: int
) -> tuple[PgTurns, PgTurns]:
    """The engine's turns and the same statements from a plain asyncpg loop."""
    schemas = [f"sb_bench_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    try:
        engine, recorded = await _engine_pass(url, schemas[0], turns, concurrency, pool)
        plain = await _plain_pass(url, schemas[1], recorded, concurrency, pool)
    finally:
        await _drop(url, schemas)
    return engine, plain


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_turn", description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--pool", type=int, default=10)
    args = parser.parse_args()
    say(f"PostgreSQL turns at {args.url.rpartition('@')[2]}; load averages {os.getloadavg()}")
    for c in args.concurrency:
        engine, plain = asyncio.run(
            pg_turn_bench(args.url, turns=args.turns, concurrency=c, pool=args.pool)
        )
        for name, run in (("engine", engine), ("plain asyncpg", plain)):
            say(
                f"  c={c:<3} {name:<14} {run.round_trips:4.2f} round trips/turn  "
                f"{run.rate:7.0f} turns/s  p50 {run.p50 / 1e3:6.2f} ms  "
                f"p99 {run.p99 / 1e3:6.2f} ms  client CPU {run.cpu_us:5.0f} µs/turn"
            )
        say(f"  c={c:<3} engine/plain turns/s: {engine.rate / plain.rate:.2f}×")


if __name__ == "__main__":
    main()
