"""The cost of one turn without HTTP: ``Engine.handle`` on the example flows, SQLite on disk.

Two passes over the same kind of traffic (1,000 callers, the support menu script): a plain
one for the cost per turn, then an instrumented one that splits it into load (one store
hop: idempotency record or conversation), flow (the step: machine, callbacks, log entries),
render (TwiML) and save (one transaction). The instrumentation costs a little; the plain
pass is the figure to quote.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.datastructures import MultiDict

import bot.engine
from bench.traffic import sms_traffic
from bot.engine import Engine
from bot.events import Event, parse_inbound
from bot.flow import compile_flow
from bot.twiml import render
from flows import EXAMPLE_FLOWS, example_router
from storage.base import Loaded, Store, TurnWrite
from storage.sqlite import SQLiteStore

__all__ = ["TurnCost", "engine_bench"]

WARMUP = 200


@dataclass
class Timings:
    """Nanoseconds spent in each part, summed over the turns."""

    parts: dict[str, int] = field(default_factory=dict)

    def add(self, part: str, ns: int) -> None:
        self.parts[part] = self.parts.get(part, 0) + ns


class TimedStore(Store):
    """Passes every call to a real store, timing ``load`` and ``commit``."""

    def __init__(self, inner: Store, timings: Timings) -> None:
        self.inner, self.timings = inner, timings

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> bool:
        return await self.inner.ping()

    async def load(self, key: str, idempotency_keys: Sequence[str]) -> Loaded:
        start = time.perf_counter_ns()
        try:
            return await self.inner.load(key, idempotency_keys)
        finally:
            self.timings.add("load", time.perf_counter_ns() - start)

    async def commit(self, write: TurnWrite) -> str | None:
        start = time.perf_counter_ns()
        try:
            return await self.inner.commit(write)
        finally:
            self.timings.add("save", time.perf_counter_ns() - start)

    async def conversation(self, key: str) -> Any:
        return await self.inner.conversation(key)

    async def log(self, key: str) -> Any:
        return await self.inner.log(key)


class TimedEngine(Engine):
    """An engine that times its step (render is timed apart by a wrapped ``render``)."""

    timings: Timings

    async def step(self, *args: Any, **kwargs: Any) -> TurnWrite:
        start = time.perf_counter_ns()
        try:
            return await super().step(*args, **kwargs)
        finally:
            self.timings.add("step", time.perf_counter_ns() - start)


@dataclass
class TurnCost:
    turns: int
    us_per_turn: float
    split_us: dict[str, float]
    synchronous: str


def _events(turns: int, callers: int) -> list[Event]:
    return [parse_inbound(MultiDict(params)) for params in sms_traffic(turns, callers)]


async def _drive(engine: Engine, events: Iterable[Event], concurrency: int) -> None:
    queue = list(events)
    queue.reverse()

    async def worker() -> None:
        while queue:
            await engine.handle(queue.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _timed_render(timings: Timings) -> Any:
    def timed(nodes: Any) -> str:
        start = time.perf_counter_ns()
        try:
            return render(nodes)
        finally:
            timings.add("render", time.perf_counter_ns() - start)

    return timed


async def _pass(
    db: Path, events: list[Event], synchronous: str, timed: bool
) -> tuple[float, Timings]:
    timings = Timings()
    store: Store = SQLiteStore(db, synchronous=synchronous)
    if timed:
        store = TimedStore(store, timings)
    compiled = {flow.name: compile_flow(flow) for flow in EXAMPLE_FLOWS}
    engine = (TimedEngine if timed else Engine)(store, compiled, example_router())
    engine.timings = timings  # type: ignore[attr-defined]
    if timed:  # render runs inside step: time it through the engine module's name for it
        bot.engine.render = _timed_render(timings)  # type: ignore[attr-defined]
    await store.open()
    try:
        await _drive(engine, events[:WARMUP], 1)
        timings.parts.clear()
        start = time.perf_counter_ns()
        await _drive(engine, events[WARMUP:], 1)
        elapsed = time.perf_counter_ns() - start
    finally:
        bot.engine.render = render  # type: ignore[attr-defined]
        await store.close()
    return elapsed / 1000 / (len(events) - WARMUP), timings


async def engine_bench(work: Path, turns: int = 10_000, synchronous: str = "NORMAL") -> TurnCost:
    """µs per turn (one at a time, as a voice caller waits) and how it splits."""
    events = _events(turns + WARMUP, 1000)
    per_turn, _ = await _pass(work / f"engine-{synchronous}.db", events, synchronous, False)
    _, timings = await _pass(work / f"engine-{synchronous}-timed.db", events, synchronous, True)
    n = len(events) - WARMUP
    split = {part: ns / 1000 / n for part, ns in timings.parts.items()}
    split["flow"] = split.pop("step", 0.0) - split.get("render", 0.0)
    return TurnCost(n, per_turn, split, synchronous)
