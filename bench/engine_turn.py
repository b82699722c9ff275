"""The cost of one turn without HTTP: ``Engine.handle`` on the example flows, SQLite on disk.

Two passes over the same kind of traffic (1,000 callers, the support menu script): a plain
one for the cost per turn, then an instrumented one that splits it into load (one store
read: idempotency record or conversation), consent (the consent ledger read), flow (the
step: machine, callbacks, log entries), render (TwiML) and save (one transaction). The
instrumentation costs a little; the plain pass is the figure to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.datastructures import MultiDict

import bot.engine.engine
from bench.traffic import sms_traffic
from bot.compliance.gate import Gate
from bot.engine.engine import Engine
from bot.events.model import Event
from bot.events.parse import parse_inbound
from bot.flow.definition import compile_flow
from bot.twiml.render import render
from flows import EXAMPLE_FLOWS, example_router
from storage.records import TurnWrite
from storage.sqlite import SQLiteStore

__all__ = ["TurnCost", "engine_bench"]

WARMUP = 200


@dataclass
class Timings:
    """Nanoseconds spent in each part, summed over the turns."""

    parts: dict[str, int] = field(default_factory=dict)

    def add(self, part: str, ns: int) -> None:
        self.parts[part] = self.parts.get(part, 0) + ns


# The store calls a turn makes, and the part of the split each one counts in.
TIMED_CALLS = {"load": "load", "contact": "consent", "commit": "save"}


def instrument(store: SQLiteStore, timings: Timings) -> None:
    """Time ``store``'s per-turn calls (instance attributes shadow the methods)."""
    for method, part in TIMED_CALLS.items():
        setattr(store, method, _timed(getattr(store, method), part, timings))


def _timed(call: Callable[..., Awaitable[Any]], part: str, timings: Timings) -> Any:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return await call(*args, **kwargs)
        finally:
            timings.add(part, time.perf_counter_ns() - start)

    return timed


@dataclass(frozen=True)
class TimedEngine(Engine):
    """An engine that times its step (render is timed apart by a wrapped ``render``)."""

    timings: Timings = field(default_factory=Timings)

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
    cpu_us_per_turn: float  # CPU of every thread of the process, steadier than wall time
    split_us: dict[str, float]
    synchronous: str
    loop_cpu_us_per_turn: float = 0.0  # the event loop's thread alone (not the checkpoints)


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


def _record(store: SQLiteStore, calls: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Note every per-turn store call with its arguments, to be replayed alone."""
    for method in TIMED_CALLS:
        setattr(store, method, _recorded(getattr(store, method), method, calls))


def _recorded(call: Callable[..., Awaitable[Any]], name: str, calls: list[Any]) -> Any:
    async def recorded(*args: Any) -> Any:
        calls.append((name, args))
        return await call(*args)

    return recorded


async def _pass(
    db: Path,
    events: list[Event],
    synchronous: str,
    timed: bool,
    calls: list[tuple[str, tuple[Any, ...]]] | None = None,
) -> tuple[float, Timings]:
    timings = Timings()
    for old in db.parent.glob(db.name + "*"):
        old.unlink()  # a fresh database: every event a new message, none a duplicate
    store = SQLiteStore(db, synchronous=synchronous)
    if timed:
        instrument(store, timings)
    if calls is not None:
        _record(store, calls)
    compiled = {flow.name: compile_flow(flow) for flow in EXAMPLE_FLOWS}
    router, gate = example_router(), Gate(store)
    engine = (
        TimedEngine(store, compiled, router, gate, timings=timings)
        if timed
        else Engine(store, compiled, router, gate)
    )
    if timed:  # render runs inside step: time it through the engine module's name for it
        bot.engine.engine.render = _timed_render(timings)  # type: ignore[attr-defined]
    await store.open()
    try:
        await _drive(engine, events[:WARMUP], 1)
        if calls is not None:
            calls.append(("", ()))  # the warm-up ends here
        timings.parts.clear()
        start, cpu, mine = time.perf_counter_ns(), time.process_time_ns(), time.thread_time_ns()
        await _drive(engine, events[WARMUP:], 1)
        elapsed = time.perf_counter_ns() - start
        timings.add("cpu", time.process_time_ns() - cpu)
        timings.add("loop cpu", time.thread_time_ns() - mine)
    finally:
        bot.engine.engine.render = render  # type: ignore[attr-defined]
        await store.close()
    return elapsed / 1000 / max(len(events) - WARMUP, 1), timings


async def engine_bench(work: Path, turns: int = 10_000, synchronous: str = "NORMAL") -> TurnCost:
    """µs per turn (one at a time, as a voice caller waits) and how it splits."""
    events = _events(turns + WARMUP, 1000)
    per_turn, plain = await _pass(work / f"engine-{synchronous}.db", events, synchronous, False)
    _, timings = await _pass(work / f"engine-{synchronous}-timed.db", events, synchronous, True)
    n = len(events) - WARMUP
    split = {
        part: ns / 1000 / n for part, ns in timings.parts.items() if part not in ("cpu", "loop cpu")
    }
    split["flow"] = split.pop("step", 0.0) - split.get("render", 0.0) - split.get("consent", 0.0)
    cpu, loop_cpu = plain.parts["cpu"] / 1000 / n, plain.parts["loop cpu"] / 1000 / n
    return TurnCost(n, per_turn, cpu, split, synchronous, loop_cpu)


# -- instructions per turn: the noise-proof figure (callgrind) ------------------------------


async def _one_pass(turns: int, drive: bool = True) -> float:
    events = _events(turns + WARMUP, 1000)  # parsed alike whether driven or not
    events = events if drive else events[:WARMUP]
    with tempfile.TemporaryDirectory() as work:
        _, timings = await _pass(Path(work) / "engine.db", events, "NORMAL", False)
    return timings.parts["cpu"] / 1000 / max(turns, 1)


async def store_alone(turns: int, drive: bool = True) -> float:
    """CPU µs per turn of the store calls alone (load, contact, commit): the calls a pass
    made, with their arguments, replayed in order on a fresh database, the warm-up's first."""
    calls: list[tuple[str, tuple[Any, ...]]] = []
    with tempfile.TemporaryDirectory() as work:
        await _pass(Path(work) / "record.db", _events(turns + WARMUP, 1000), "NORMAL", False, calls)
        mark = calls.index(("", ()))
        calls = calls if drive else calls[: mark + 1]
        store = SQLiteStore(Path(work) / "replay.db")
        await store.open()
        try:
            for name, args in calls[:mark]:
                await getattr(store, name)(*args)
            cpu = time.process_time_ns()
            for name, args in calls[mark + 1 :]:
                await getattr(store, name)(*args)
            spent = time.process_time_ns() - cpu
        finally:
            await store.close()
    return spent / 1000 / max(turns, 1)


def _callgrind(turns: int, out: Path, drive: bool, mode: str) -> int:
    """Instructions executed by a whole ``--pass`` (or ``--store-pass``) run, every thread;
    without ``drive``, the run prepares the same turns but runs only the warm-up."""
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               sys.executable, "-m", "bench.engine_turn", mode, str(turns),
               *([] if drive else ["--warm-up-only"])]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
    return int(totals[0].split()[1])


def instructions_per_turn(turns: int, mode: str = "--pass") -> float:
    """(instructions of ``turns`` + warm-up turns − instructions of the warm-up alone) / turns:
    start-up, imports, parsing the events and the warm-up cancel out, and callgrind counts
    every thread (not the kernel's work in system calls)."""
    with tempfile.TemporaryDirectory() as work:
        full = _callgrind(turns, Path(work) / "full.out", True, mode)
        base = _callgrind(turns, Path(work) / "base.out", False, mode)
    return (full - base) / turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pass", dest="one", type=int, metavar="TURNS",
        help="run one plain pass of TURNS turns and print CPU µs per turn",
    )  # fmt: skip
    parser.add_argument(
        "--store-pass", type=int, metavar="TURNS",
        help="replay the store calls of TURNS turns alone and print CPU µs per turn",
    )  # fmt: skip
    parser.add_argument(
        "--store", action="store_true", help="with --instructions: count the store calls alone"
    )
    parser.add_argument("--warm-up-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--instructions", type=int, metavar="TURNS",
        help="instructions per turn under callgrind (two runs, minutes)",
    )  # fmt: skip
    args = parser.parse_args()
    drive = not args.warm_up_only
    if args.instructions:
        mode = "--store-pass" if args.store else "--pass"
        print(f"{instructions_per_turn(args.instructions, mode):,.0f} instructions per turn")
    elif args.one is not None:
        print(f"{asyncio.run(_one_pass(args.one, drive)):.1f} µs CPU per turn")
    elif args.store_pass is not None:
        print(f"{asyncio.run(store_alone(args.store_pass, drive)):.1f} µs CPU per turn (store)")
    else:
        parser.error("give --pass, --store-pass or --instructions")


if __name__ == "__main__":
    main()
