"""What the engine's observer hook costs per turn, without HTTP or a database.

``python -m bench.observer_cost`` (set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory to
measure multiprocess mode, as ``switchboard serve`` runs it): one probe per turn, its four
phases and the outcome, as ``Engine.handle`` calls them, with the observer off and with
Prometheus metrics on; best of 5 rounds of 20,000 turns.
"""

from __future__ import annotations

import os
import timeit
from dataclasses import dataclass
from functools import partial

from bot.observe.hooks import Observer, Outcome
from bot.observe.metrics import Metrics

__all__ = ["main"]


@dataclass(frozen=True)
class _Event:
    sid: str = "SM" + "0" * 32
    kind: str = "message"
    text: str = "hi"


def _turn(observer: Observer, event: _Event) -> None:
    with observer.turn("sms:+15550100000:+15550001111", event) as probe:  # type: ignore[arg-type]
        for phase in ("lock", "load", "flow", "commit"):
            with probe.phase(phase):
                pass
        probe.finish(Outcome.OK)


def main() -> int:
    mode = "multiprocess" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "single process"
    event, n = _Event(), 20_000
    for name, observer in (("off", Observer()), (f"metrics ({mode})", Observer(Metrics()))):
        best = min(timeit.repeat(partial(_turn, observer, event), number=n, repeat=5))
        print(f"observer {name}: {best / n * 1e6:.1f} µs per turn")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
