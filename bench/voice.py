"""Voice: time to answer a ``<Gather>`` result, at concurrency 16, next to the bare endpoint.

Phase 1 starts calls (the incoming-call webhook: the IVR greets and gathers a key); phase 2,
the one measured, posts each started call's Gather result (``Digits=2``: support, a
``<Dial>``) to the action URL the first answer gave, ``/twilio?step=1&on=gather``, signed for
that URL like Twilio does. Each Gather result is a new step of a stored call: dedupe, lock,
load, flow, save, TwiML.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import migrate, say
from bench.server import Server
from bench.traffic import OUR_NUMBER, caller, write_traffic
from bench.webhook import BARE_APP, PIPELINE_APP, Driver, pipeline_env

__all__ = ["GATHER_PATH", "voice_bench"]

GATHER_PATH = "/twilio?step=1&on=gather"


def call_params(sid: str, sender: str, extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The parameters Twilio posts with every request about an inbound call."""
    return [
        ("AccountSid", "AC" + "0" * 32), ("ApiVersion", "2010-04-01"), ("CallSid", sid),
        ("CallStatus", "in-progress" if extra else "ringing"), ("Called", OUR_NUMBER),
        ("Caller", sender), ("Direction", "inbound"), ("From", sender), ("FromCountry", "US"),
        ("To", OUR_NUMBER), ("ToCountry", "US"), *extra,
    ]  # fmt: skip


def calls(count: int, extra: list[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    """``count`` calls from 1,000 callers; ``extra`` parameters on each request."""
    for n in range(count):
        yield call_params(f"CA{n:032x}", caller(n % 1000), extra)


def voice_bench(
    work: Path, report: Any, *, seconds: float, calls_made: int = 60_000
) -> dict[str, Any]:
    """Start calls, then measure their Gather results at c=16 with 1 and 2 workers, and the
    bare endpoint answering the same signed Gather results (``bench/bare.py``)."""
    starts, gathers = work / "voice-calls.txt", work / "voice-gathers.txt"
    write_traffic(starts, "/twilio", calls(calls_made, []))
    write_traffic(gathers, GATHER_PATH, calls(calls_made, [("Digits", "2")]))
    figures: dict[int, dict[str, Any]] = {}
    bare: dict[int, dict[str, Any]] = {}
    for workers in (1, 2):
        db = work / f"voice-{workers}w.db"
        migrate(db)
        log = work / "servers.log"
        with (
            Server(BARE_APP, workers, pipeline_env(db), log) as plain,
            Server(PIPELINE_APP, workers, pipeline_env(db), log) as server,
        ):
            started = Driver(server, starts, work).run(64, seconds * 1.5)
            answered = Driver(server, gathers, work, path=GATHER_PATH)
            limit = int(started["requests"]) - 64  # only calls whose start surely completed
            bare[workers] = Driver(plain, gathers, work, path=GATHER_PATH).run(16, seconds)
            result = answered.run(16, seconds, limit=limit)
        figures[workers] = result
        flags = " (non-200 answers!)" if result["non200"] else ""
        say(
            f"  workers={workers}: {int(started['requests']):,} calls started, then "
            f"{result['requests']:,} Gather results at c=16: {result['rps']:.0f} req/s, "
            f"p50 {result['p50_us'] / 1e3:.2f} ms, p99 {result['p99_us'] / 1e3:.2f} ms{flags}; "
            f"bare {bare[workers]['rps']:.0f} req/s, p99 {bare[workers]['p99_us'] / 1e3:.2f} ms"
        )
    for workers, result in figures.items():
        ratio = result["rps"] / bare[workers]["rps"]
        tail = result["p99_us"] / bare[workers]["p99_us"]
        report.figure(
            f"voice Gather answer at c=16, {workers} worker(s)",
            f"p50 {result['p50_us'] / 1e3:.1f} ms, p99 {result['p99_us'] / 1e3:.1f} ms; "
            f"{ratio:.2f}× bare req/s, p99 {tail:.1f}× bare's",
        )
        if workers == 2:
            report.target("voice Gather ≥ 0.7× bare req/s, 2 workers, c=16", ratio >= 0.7,
                          f"{ratio:.2f}×")  # fmt: skip
            report.target("voice Gather p99 ≤ 3× bare p99, 2 workers, c=16", tail <= 3,
                          f"{tail:.1f}×")  # fmt: skip
    return {str(w): {"pipeline": r, "bare": bare[w]} for w, r in figures.items()}
