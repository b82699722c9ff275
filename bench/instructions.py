"""CPU instructions per request, counted by callgrind: a figure a busy machine cannot move.

Requests per second on a shared 2-core machine swing by a factor of two with the neighbours'
load; the number of instructions a request executes does not. Each server (the pipeline and
the bare endpoint, ``bench/bare.py``) is served in one process (``switchboard serve
--workers 0``: the same Hypercorn configuration, uvloop, logging) under ``valgrind
--tool=callgrind --instr-atstart=no``. It is warmed up uncounted (imports, caches, the first
conversations), then, for each round, counting is switched on (``callgrind_control -i on``),
exactly ``requests`` signed webhooks are sent one at a time (``bench/client.py``), counting is
switched off and the count dumped (``callgrind_control -d``). Every thread of the process is
counted (the event loop and SQLite's connection thread); the client, the kernel (system
calls, fsync) and waiting are not. ``PYTHONHASHSEED`` is fixed, so rounds agree within ~0.5%.

Run it alone with ``python -m bench --only instructions`` (about two minutes); the ratio
bare ÷ pipeline is what a CPU-bound server's throughput ratio would be.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import replay
from bench.common import migrate, say
from bench.server import Server
from bench.traffic import sms_traffic, write_traffic
from bench.voice import GATHER_PATH, calls
from bench.webhook import BARE_APP, PIPELINE_APP, pipeline_env

__all__ = ["Count", "counted", "instructions_bench"]

_TOTALS = re.compile(rb"^totals:\s+(\d+)", re.MULTILINE)


@dataclass
class Count:
    """Instructions per request of one server, one figure per round."""

    name: str
    rounds: list[float] = field(default_factory=list)

    @property
    def per_request(self) -> float:
        return statistics.median(self.rounds)

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds: how far the figure can be trusted."""
        return (max(self.rounds) - min(self.rounds)) / self.per_request


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=60)


def _latest_total(out: Path, dumps: int) -> int:
    """The instruction total of dump number ``dumps`` of callgrind file ``out``."""
    dump = out.with_name(f"{out.name}.{dumps}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if dump.exists() and (match := _TOTALS.search(dump.read_bytes())):
            return int(match.group(1))
        time.sleep(0.2)
    raise RuntimeError(f"callgrind wrote no dump {dump}")


def _sent(port: int, traffic: Path, *, skip: int, count: int, path: str) -> None:
    statuses = replay(port, traffic, skip=skip, count=count, connections=1, path=path)
    if set(statuses) != {200}:
        raise RuntimeError(f"instructions run: statuses {sorted(set(statuses))} from {traffic}")


def counted(
    work: Path,
    name: str,
    app: str,
    traffic: Path,
    *,
    path: str = "/twilio",
    warmup: int = 100,
    requests: int = 200,
    rounds: int = 3,
    before: Path | None = None,
) -> Count:
    """Instructions per request of ``app`` for lines of ``traffic`` sent to ``path``.

    ``before`` is traffic sent first to ``/twilio``, uncounted, one line per counted line
    (a voice Gather result needs its call started).
    """
    db = work / f"instructions-{name}.db"
    migrate(db)
    out = work / f"callgrind-{name}.out"
    wrapper = ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}")
    env = {**pipeline_env(db), "PYTHONHASHSEED": "0"}
    count = Count(name)
    server = Server(app, 0, env, work / "servers.log", wrapper=wrapper, ready_timeout=300)
    with server:
        pid = str(server.proc.pid if server.proc is not None else "")
        if before is not None:
            _sent(server.port, before, skip=0, count=warmup + rounds * requests, path="/twilio")
        _sent(server.port, traffic, skip=0, count=warmup, path=path)
        for n in range(rounds):
            _control("-i", "on", pid)
            _sent(server.port, traffic, skip=warmup + n * requests, count=requests, path=path)
            _control("-i", "off", pid)
            _control("-d", pid)
            count.rounds.append(_latest_total(out, n + 1) / requests)
    return count


@dataclass
class InstructionsResult:
    """Bare and pipeline counts for SMS messages and for voice Gather results."""

    pairs: dict[str, tuple[Count, Count]]

    def ratio(self, kind: str) -> float:
        bare, pipeline = self.pairs[kind]
        return bare.per_request / pipeline.per_request

    def rows(self) -> Iterator[tuple[str, Count, Count, float]]:
        for kind, (bare, pipeline) in self.pairs.items():
            yield kind, bare, pipeline, self.ratio(kind)


def instructions_bench(
    work: Path, *, requests: int = 200, rounds: int = 3, voice: bool = True
) -> InstructionsResult:
    """Count both servers for SMS (and voice Gather results): instructions per request."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise RuntimeError("valgrind is not installed: apt-get install valgrind")
    total = 100 + rounds * requests
    sms = work / "instructions-sms.txt"
    write_traffic(sms, "/twilio", sms_traffic(total, 1000))
    pairs = {}
    kinds: list[tuple[str, Path, str, Path | None]] = [("sms", sms, "/twilio", None)]
    if voice:
        starts, gathers = work / "instructions-calls.txt", work / "instructions-gathers.txt"
        write_traffic(starts, "/twilio", calls(total, []))
        write_traffic(gathers, GATHER_PATH, calls(total, [("Digits", "2")]))
        kinds.append(("voice gather", gathers, GATHER_PATH, starts))
    for kind, traffic, path, before in kinds:
        found = []
        for name, app in (("bare", BARE_APP), ("pipeline", PIPELINE_APP)):
            label = f"{kind.replace(' ', '-')}-{name}"
            count = counted(
                work, label, app, traffic, path=path, requests=requests, rounds=rounds,
                before=before if name == "pipeline" else None,
            )  # fmt: skip
            rounds_text = ", ".join(f"{r / 1e6:.3f}" for r in count.rounds)
            say(
                f"  {kind:<12} {name:<8} {count.per_request / 1e6:7.3f} M instructions/request"
                f"  (rounds: {rounds_text}; spread {count.spread:.1%})"
            )
            found.append(count)
        pairs[kind] = (found[0], found[1])
    return InstructionsResult(pairs)
