"""A/B two server variants side by side: ``python -m bench.ab`` (used for the commit figures).

Each variant is a ``switchboard serve`` option list and environment; runs alternate between
them for several rounds on the same signed traffic, and the best round of each is printed.
"""

from __future__ import annotations

import argparse
import shlex
import tempfile
from pathlib import Path

from bench.common import migrate, say
from bench.server import Server
from bench.traffic import sms_traffic, write_traffic
from bench.webhook import PIPELINE_APP, Driver, pipeline_env


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--a", default="", help="serve options of variant A")
    parser.add_argument("--b", default="", help="serve options of variant B")
    parser.add_argument("--a-env", default="", help="KEY=VALUE ... for variant A")
    parser.add_argument("--b-env", default="", help="KEY=VALUE ... for variant B")
    parser.add_argument("--a-root", type=Path, help="serve variant A from this checkout")
    parser.add_argument("--app", default=PIPELINE_APP)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="switchboard-ab-"))
    traffic = work / "traffic.txt"
    write_traffic(traffic, "/twilio", sms_traffic(30_000 * args.rounds, 1000))
    variants = {}
    here = Path(__file__).resolve().parent.parent
    for name, options, env, root in (
        ("A", args.a, args.a_env, args.a_root or here),
        ("B", args.b, args.b_env, here),
    ):
        db = work / f"{name}.db"
        migrate(db)
        extra = dict(item.split("=", 1) for item in shlex.split(env))
        variants[name] = Server(
            args.app, args.workers, {**pipeline_env(db), **extra}, work / "servers.log",
            options=tuple(shlex.split(options)), root=root,
        )  # fmt: skip
    with variants["A"] as a, variants["B"] as b:
        drivers = {"A": Driver(a, traffic, work), "B": Driver(b, traffic, work)}
        for driver in drivers.values():
            driver.run(16, 2)
        best: dict[str, dict[str, float]] = {}
        cpu: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, driver in drivers.items():
                r = driver.run(args.connections, args.seconds)
                say(f"  {name}: {r['rps']:7.0f} req/s p50 {r['p50_us'] / 1e3:6.2f} ms "
                    f"p99 {r['p99_us'] / 1e3:6.2f} ms CPU {r['cpu_us']:5.0f} µs/req "
                    f"non200={r['non200']}")  # fmt: skip
                if name not in best or r["rps"] > best[name]["rps"]:
                    best[name] = r
                cpu.setdefault(name, []).append(r["cpu_us"])
    for name, r in best.items():
        say(f"best {name}: {r['rps']:7.0f} req/s p50 {r['p50_us'] / 1e3:6.2f} ms "
            f"p99 {r['p99_us'] / 1e3:6.2f} ms")  # fmt: skip
    low = {name: min(samples) for name, samples in cpu.items()}
    say(f"server CPU µs/request (lowest round): A {low['A']:.0f}, B {low['B']:.0f}")
    say(f"B/A: req/s {best['B']['rps'] / best['A']['rps']:.2f}, CPU {low['B'] / low['A']:.2f}")


if __name__ == "__main__":
    main()
