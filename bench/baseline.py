"""The engine turn against the code issue 18 started from, alternated on this machine.

Issue 18's target 1 (one engine turn ≤ 150 µs CPU) was set on the machine where the same pass
cost 479 µs: a turn in about a third of its cost. CPU µs move with the machine (the same
771 k-instruction turn took 155 µs on one 2-vCPU VM and 340 µs on another), so this section
measures both builds here, in alternating ``--pass`` runs, and prints their ratio next to the
target's own (150 / 479).

The old build is ``git archive`` of :data:`START` (main just before issue 18's first change),
driven by today's harness (``bench/engine_turn.py`` and ``bench/traffic.py`` copied over it):
the same turns, the same database settings, the same CPU accounting.

    python -m bench.baseline --turns 10000 --pairs 6
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["START", "TARGET_RATIO", "BaselineError", "BaselineResult", "baseline_bench"]

START = "c377554"  # main before issue 18 (the parent of b89771c, its first change)
START_US, TARGET_US = 479.0, 150.0  # the figure for START, and its target
TARGET_RATIO = TARGET_US / START_US
HERE = Path(__file__).resolve().parent.parent
HARNESS = ("bench/engine_turn.py", "bench/traffic.py")


class BaselineError(RuntimeError):
    """The old build cannot be made or run here (no git history, a harness it cannot run)."""


@dataclass
class BaselineResult:
    pairs: list[tuple[float, float]]  # (START's CPU µs per turn, this build's), in run order

    @property
    def start_us(self) -> float:
        return statistics.median(a for a, _ in self.pairs)

    @property
    def now_us(self) -> float:
        return statistics.median(b for _, b in self.pairs)

    @property
    def ratio(self) -> float:
        """The median of the pairs' ratios: each pair ran back to back, under the same load."""
        return statistics.median(b / a for a, b in self.pairs)

    def lines(self) -> list[str]:
        """One line per pair, in run order."""
        return [f"  {START} {a:7.1f}  now {b:6.1f} µs CPU per turn  ({b / a:.2f}×)"
                for a, b in self.pairs]  # fmt: skip


def _old_tree(into: Path) -> Path:
    """START's files under ``into``, with today's harness copied over its own."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(HERE), "archive", "--format=tar", START],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise BaselineError(
            f"cannot take {START} from git in {HERE} (a clone with its history is needed): "
            f"{detail.decode(errors='replace').strip() or exc}"
        ) from exc
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    for name in HARNESS:
        shutil.copy(HERE / name, into / name)
    return into


def _one_pass(root: Path, turns: int) -> float:
    """CPU µs per turn of one ``--pass`` run of the build in ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "bench.engine_turn", "--pass", str(turns)]
    done = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BaselineError(f"the pass failed in {root}: {last}")
    return float(done.stdout.split()[0])


def baseline_bench(turns: int, pairs: int) -> BaselineResult:
    """``pairs`` alternated passes of START and of this build, ``turns`` turns each."""
    with tempfile.TemporaryDirectory(prefix="switchboard-baseline-") as work:
        old = _old_tree(Path(work))
        found = [(_one_pass(old, turns), _one_pass(HERE, turns)) for _ in range(pairs)]
    return BaselineResult(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10_000, help="turns per pass")
    parser.add_argument("--pairs", type=int, default=6, help="alternated pairs of passes")
    args = parser.parse_args()
    try:
        result = baseline_bench(args.turns, args.pairs)
    except BaselineError as exc:
        print(f"baseline: {exc}", file=sys.stderr)
        return 1
    print("\n".join(result.lines()))
    print(
        f"median {result.start_us:.0f} → {result.now_us:.0f} µs CPU per turn: "
        f"{result.ratio:.2f}× (target 1's own: {TARGET_US:.0f}/{START_US:.0f} = "
        f"{TARGET_RATIO:.2f}×)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
