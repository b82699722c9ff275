"""Run every benchmark and print each figure, each ratio and each target: ``bash bench/run.sh``.

Sections (``--only`` picks some): micro, engine, baseline, instructions, webhook, metrics, voice,
scale, memory.
Working files (databases, traffic, server logs) go to a temporary directory, removed at the
end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.baseline import START, TARGET_RATIO, BaselineError, baseline_bench
from bench.common import say
from bench.engine_turn import engine_bench, store_alone
from bench.instructions import InstructionsResult, instructions_bench
from bench.memory import memory_bench
from bench.metrics_cost import metrics_cost_bench
from bench.micro import micro_bench
from bench.scale import scale_bench
from bench.traffic import sms_traffic, write_traffic
from bench.webhook import webhook_bench

SECTIONS = (
    "micro", "engine", "baseline", "instructions", "webhook", "metrics", "voice", "scale", "memory",
)  # fmt: skip


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


class Report:
    """Collects figures and target verdicts, printed together at the end."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}
        self.targets: list[tuple[str, bool, str]] = []
        self.noted: list[tuple[str, str]] = []
        self.instructions: InstructionsResult | None = None

    def figure(self, name: str, detail: str) -> None:
        """A figure the issue asks for without a target: repeated in the summary."""
        self.noted.append((name, detail))

    def target(self, name: str, met: bool, detail: str) -> None:
        self.targets.append((name, met, detail))
        say(f"  TARGET {'met    ' if met else 'NOT MET'} {name}: {detail}")


def run_micro(report: Report, work: Path, args: argparse.Namespace) -> None:
    say("\n== Hot-path steps, µs per call (best of 5)")
    figures = micro_bench()
    for name, us in figures.items():
        say(f"  {us:8.2f} µs  {name}")
    report.figures["micro_us"] = figures


def run_engine(report: Report, work: Path, args: argparse.Namespace) -> None:
    say("\n== Engine: one turn without HTTP (example flows, SQLite on disk, one at a time)")
    results = {}
    for sync in ("NORMAL", "FULL"):
        cost = asyncio.run(engine_bench(work, turns=args.turns, synchronous=sync))
        split = "  ".join(f"{part} {us:.0f}" for part, us in cost.split_us.items())
        say(
            f"  synchronous={sync:<6} {cost.us_per_turn:6.0f} µs/turn, "
            f"CPU {cost.cpu_us_per_turn:4.0f} µs/turn, on the loop's thread "
            f"{cost.loop_cpu_us_per_turn:4.0f}  (split µs: {split})"
        )
        report.figure(
            f"engine turn, synchronous={sync}",
            f"{cost.us_per_turn:.0f} µs wall, {cost.cpu_us_per_turn:.0f} µs CPU",
        )
        results[sync] = {
            "us_per_turn": cost.us_per_turn, "cpu_us_per_turn": cost.cpu_us_per_turn,
            "loop_cpu_us_per_turn": cost.loop_cpu_us_per_turn, "split_us": cost.split_us,
        }  # fmt: skip
    alone = asyncio.run(store_alone(args.turns))
    say(f"  the same turns' store calls alone (load, contact, commit): CPU {alone:4.0f} µs/turn")
    report.figures["engine"] = {**results, "store_alone_cpu_us_per_turn": alone}
    normal = float(results["NORMAL"]["cpu_us_per_turn"])  # type: ignore[arg-type]
    loop = float(results["NORMAL"]["loop_cpu_us_per_turn"])  # type: ignore[arg-type]
    report.target(
        "engine turn ≤ 150 µs CPU (synchronous=NORMAL)", normal <= 150,
        f"{normal:.0f} µs CPU per turn, WAL checkpoints included (the loop's thread alone: "
        f"{loop:.0f}); the store calls alone {alone:.0f}",
    )  # fmt: skip


def run_baseline(report: Report, work: Path, args: argparse.Namespace) -> None:
    say(f"\n== Engine turn against issue 18's start ({START}), alternated on this machine")
    try:
        result = baseline_bench(args.turns, args.pairs)
    except BaselineError as exc:
        say(f"  not measured: {exc}")
        report.figures["baseline"] = None
        return
    for line in result.lines():
        say(line)
    report.figures["baseline"] = {"pairs": result.pairs, "ratio": result.ratio}
    report.figure(
        f"engine turn against {START}, same machine",
        f"{result.start_us:.0f} → {result.now_us:.0f} µs CPU = {result.ratio:.2f}× (target 1 "
        f"was set as 150 of 479 µs: {TARGET_RATIO:.2f}×)",
    )


def run_instructions(report: Report, work: Path, args: argparse.Namespace) -> None:
    say("\n== Instructions per request under callgrind (one process, one request at a time)")
    result = instructions_bench(work, requests=args.instr_requests, rounds=args.instr_rounds)
    report.instructions = result
    report.figures["instructions"] = {
        kind: {"bare": bare.rounds, "pipeline": pipeline.rounds, "ratio": ratio}
        for kind, bare, pipeline, ratio in result.rows()
    }
    for kind, bare, pipeline, ratio in result.rows():
        say(f"  {kind}: bare/pipeline instructions = {ratio:.2f}×")
        report.figure(
            f"{kind}: instructions per request, bare/pipeline",
            f"{bare.per_request / 1e6:.2f} M/{pipeline.per_request / 1e6:.2f} M = {ratio:.2f}×",
        )


def _instruction_ratio(report: Report, kind: str) -> str:
    """`` (instructions 0.52×)`` when the instructions section ran, else nothing."""
    if report.instructions is None or kind not in report.instructions.pairs:
        return ""
    return f" (instructions {report.instructions.ratio(kind):.2f}×)"


def run_metrics(report: Report, work: Path, args: argparse.Namespace) -> None:
    say("\n== Metrics cost: the webhook pipeline with SWITCHBOARD_METRICS off vs on (wrk)")
    traffic = work / "metrics-traffic.txt"
    write_traffic(traffic, "/twilio", sms_traffic(args.requests, 1000))
    rows = metrics_cost_bench(work, traffic, seconds=args.seconds, rounds=args.rounds)
    report.figures["metrics"] = [
        {"workers": r.workers, "connections": r.connections, "off": r.off, "on": r.on,
         "ratio": r.ratio} for r in rows
    ]  # fmt: skip
    for r in rows:
        report.figure(
            f"metrics on/off req/s, {r.workers} workers, c={r.connections}",
            f"{r.on['rps']:.0f}/{r.off['rps']:.0f} = {r.ratio:.2f}×; server CPU "
            f"{r.on['cpu_us']:.0f}/{r.off['cpu_us']:.0f} µs per request",
        )


def run_webhook(report: Report, work: Path, args: argparse.Namespace) -> None:
    say("\n== Webhook throughput: full pipeline vs bare Quart endpoint (wrk, same traffic)")
    traffic = work / "sms-traffic.txt"
    size = write_traffic(traffic, "/twilio", sms_traffic(args.requests, 1000))
    say(f"  traffic: {args.requests:,} signed SMS webhooks from 1,000 callers, {size} B bodies")
    rows = webhook_bench(work, traffic, seconds=args.seconds, rounds=args.rounds)
    say(f"  load averages {os.getloadavg()} (the machine is shared: req/s move with it)")
    say("\n  workers  conc   bare req/s  p50 ms  p99 ms   pipeline req/s  p50 ms  p99 ms  ratio")
    for row in rows:
        b, f = row.bare, row.full
        say(
            f"  {row.workers:>7} {row.connections:>5} {b['rps']:>12.0f} {b['p50_us'] / 1e3:7.2f}"
            f" {b['p99_us'] / 1e3:7.2f} {f['rps']:>16.0f} {f['p50_us'] / 1e3:7.2f}"
            f" {f['p99_us'] / 1e3:7.2f} {row.ratio:6.2f}{_instruction_ratio(report, 'sms')}"
        )
    report.figures["webhook"] = [
        {"workers": r.workers, "connections": r.connections, "bare": r.bare, "pipeline": r.full,
         "ratio": r.ratio} for r in rows
    ]  # fmt: skip
    for row in rows:
        report.figure(
            f"pipeline/bare req/s, {row.workers} worker(s), c={row.connections}",
            f"{row.full['rps']:.0f}/{row.bare['rps']:.0f} = {row.ratio:.2f}×; server CPU "
            f"{row.full['cpu_us']:.0f}/{row.bare['cpu_us']:.0f} µs per request",
        )
        if row.workers == 2:
            report.target(
                f"pipeline ≥ 0.7× bare req/s, 2 workers, c={row.connections}",
                row.ratio >= 0.7, f"{row.ratio:.2f}×{_instruction_ratio(report, 'sms')}",
            )  # fmt: skip
            tail = row.full["p99_us"] / row.bare["p99_us"]
            report.target(
                f"pipeline p99 ≤ 3× bare p99, 2 workers, c={row.connections}", tail <= 3,
                f"{row.full['p99_us'] / 1e3:.1f}/{row.bare['p99_us'] / 1e3:.1f} ms = {tail:.1f}×",
            )  # fmt: skip


def run_voice(report: Report, work: Path, args: argparse.Namespace) -> None:
    say("\n== Voice: time to answer a Gather result")
    try:
        from bench.voice import voice_bench
    except ImportError as exc:
        say(f"  not measured: {exc}")
        report.figures["voice"] = None
        return
    report.figures["voice"] = voice_bench(work, report, seconds=args.seconds)


def run_scale(report: Report, work: Path, args: argparse.Namespace) -> None:
    say("\n== Scale: load by key, 1,000,000 stored conversations vs 1,000")
    result = scale_bench(work, large=args.large)
    for lookup in (result.small, result.large):
        s50, s99 = result.stats(lookup.store_us)
        q50, q99 = result.stats(lookup.sql_us)
        say(
            f"  {lookup.rows:>9,} rows: Store.load p50 {s50:6.1f} µs p99 {s99:6.1f} µs   "
            f"SQL alone p50 {q50:5.1f} µs p99 {q99:6.1f} µs"
        )
    say(f"  filling {args.large:,} conversations + idempotency rows: {result.fill_seconds:.1f} s")
    say(f"  ratio (p50): Store.load {result.ratio:.2f}×, SQL alone {result.sql_ratio:.2f}×")
    report.figures["scale"] = {
        "ratio": result.ratio, "sql_ratio": result.sql_ratio,
        "small": result.stats(result.small.store_us), "large": result.stats(result.large.store_us),
    }  # fmt: skip
    report.target("load-by-key 1M vs 1k ≤ 1.5×", result.ratio <= 1.5, f"{result.ratio:.2f}×")


def run_memory(report: Report, work: Path, args: argparse.Namespace) -> None:
    say("\n== Memory: pipeline worker RSS by distinct callers served")
    marks = (1_000, args.callers // 10, args.callers, 2 * args.callers)
    result = memory_bench(work, marks)
    say(
        f"  ratio {result.ratio:.2f}×, {result.bytes_per_caller:.0f} B per caller beyond the "
        f"first 1,000 ({result.bytes_per_caller_warm:.0f} B after {result.points[1][0]:,}, "
        f"while the page caches fill; {result.bytes_per_caller_last:.1f} B over the last "
        f"{result.points[-1][0] - result.points[-2][0]:,})"
        f"; database {result.db_bytes / 2**20:.1f} MiB"
    )
    report.figures["memory"] = {
        "points": result.points, "ratio": result.ratio,
        "bytes_per_caller": result.bytes_per_caller,
        "bytes_per_caller_warm": result.bytes_per_caller_warm,
        "bytes_per_caller_last": result.bytes_per_caller_last, "db_bytes": result.db_bytes,
    }  # fmt: skip
    report.figure(
        "memory", f"worker RSS {result.ratio:.2f}× from 1,000 to {result.points[-1][0]:,} callers"
    )
    last, stretch = result.bytes_per_caller_last, result.points[-1][0] - result.points[-2][0]
    report.target(
        "no per-caller memory growth once the caches are full (≤ 16 B per caller)",
        last <= 16, f"{last:.1f} B per caller over the last {stretch:,}",
    )  # fmt: skip


RUNNERS: dict[str, Callable[[Report, Path, argparse.Namespace], None]] = {
    "micro": run_micro, "engine": run_engine, "baseline": run_baseline,
    "instructions": run_instructions,
    "webhook": run_webhook, "metrics": run_metrics, "voice": run_voice, "scale": run_scale,
    "memory": run_memory,
}  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="wrk rounds per cell (best kept)")
    parser.add_argument("--requests", type=int, default=120_000, help="signed SMS to generate")
    parser.add_argument("--turns", type=int, default=10_000, help="engine turns per pass")
    parser.add_argument("--pairs", type=int, default=6, help="baseline: alternated pass pairs")
    parser.add_argument("--large", type=int, default=1_000_000, help="conversations for scale")
    parser.add_argument("--callers", type=int, default=100_000, help="callers for memory")
    parser.add_argument(
        "--instr-requests", type=int, default=200, help="requests per callgrind round"
    )
    parser.add_argument("--instr-rounds", type=int, default=3, help="callgrind rounds per server")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    return parser.parse_args()


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the `with Server(...)` blocks: servers stop


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    report = Report()
    start = time.monotonic()
    say(f"Switchboard benchmarks on {machine()}; load averages {os.getloadavg()}")
    try:
        for section in SECTIONS:
            if section in args.only:
                RUNNERS[section](report, work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"\nworking files kept in {work}")
    say(f"\n== Figures and targets ({time.monotonic() - start:.0f} s in all)")
    for name, detail in report.noted:
        say(f"  figure   {name}: {detail}")
    for name, met, detail in report.targets:
        say(f"  {'met    ' if met else 'NOT MET'}  {name}: {detail}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), **report.figures}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
