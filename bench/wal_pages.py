"""WAL frames a turn's commit writes, by b-tree: what a turn costs SQLite in pages.

Runs the engine pass of ``bench/engine_turn.py`` (the example flows, SQLite on disk,
``synchronous=NORMAL``) with the periodic checkpoint held off, so every frame the measured
turns appended stays in the WAL; then reads the frame headers (page number, commit marker)
and names each page's table or index from ``dbstat`` on a copy of the database with that
WAL. Each frame is two ``pwrite`` calls and a checksum on commit, so frames per commit is the
figure a schema change (an index, ``WITHOUT ROWID``, ``AUTOINCREMENT``) moves.

    python -m bench.wal_pages 2000
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import struct
import tempfile
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

import storage.sqlite.store as sqlite_store
from bench import engine_turn
from bot.engine.engine import Engine
from bot.events.model import Event

__all__ = ["frames_by_tree"]

_HEADER = 32  # the WAL file's header; each frame: a 24-byte header, then the page


def _frames(wal: bytes, skip_bytes: int) -> list[tuple[int, bool]]:
    """(page number, ends a commit) of each frame after the first ``skip_bytes`` of the WAL."""
    page_size = struct.unpack(">I", wal[8:12])[0]
    size = 24 + page_size
    first = max(skip_bytes - _HEADER, 0) // size
    count = (len(wal) - _HEADER) // size
    found = []
    for n in range(first, count):
        page, commit_size = struct.unpack(">II", wal[_HEADER + n * size : _HEADER + n * size + 8])
        found.append((page, commit_size != 0))
    return found


def frames_by_tree(turns: int) -> tuple[int, Counter[str]]:
    """(commits, frames per b-tree name) of ``turns`` measured turns after the warm-up."""
    work = Path(tempfile.mkdtemp(prefix="switchboard-wal-"))
    try:
        return asyncio.run(_measure(work, turns))
    finally:
        shutil.rmtree(work, ignore_errors=True)


DriveFn = Callable[[Engine, Iterable[Event], int], Coroutine[Any, Any, None]]


async def _measure(work: Path, turns: int) -> tuple[int, Counter[str]]:
    db = work / "engine.db"
    wal = work / "engine.db-wal"
    drive: DriveFn = engine_turn._drive
    passes, mark = 0, 0

    async def marked(engine: Engine, events: Iterable[Event], concurrency: int) -> None:
        nonlocal passes, mark
        passes += 1
        if passes == 2:  # the measured turns start here: count the WAL's bytes so far
            mark = wal.stat().st_size
        await drive(engine, events, concurrency)
        if passes == 2:  # copy the database and its WAL before the store closes them
            shutil.copy(wal, work / "copy.db-wal")
            shutil.copy(db, work / "copy.db")

    store_names, bench_names = vars(sqlite_store), vars(engine_turn)
    every = store_names["CHECKPOINT_EVERY"]
    store_names["CHECKPOINT_EVERY"] = 10**9  # no checkpoint: keep every frame in the WAL
    bench_names["_drive"] = marked
    try:
        events = engine_turn._events(turns + engine_turn.WARMUP, 1000)
        await engine_turn._pass(db, events, "NORMAL", False)
    finally:
        bench_names["_drive"] = drive
        store_names["CHECKPOINT_EVERY"] = every
    frames = _frames((work / "copy.db-wal").read_bytes(), mark)
    conn = sqlite3.connect(work / "copy.db")
    try:
        owner = dict(conn.execute("SELECT pageno, name FROM dbstat"))
    finally:
        conn.close()
    by_tree = Counter(str(owner.get(page, f"page {page}")) for page, _ in frames)
    return sum(1 for _, ends in frames if ends), by_tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("turns", type=int, nargs="?", default=2000, help="measured turns")
    args = parser.parse_args()
    commits, by_tree = frames_by_tree(args.turns)
    total = sum(by_tree.values())
    print(f"{commits} commits, {total} frames: {total / max(commits, 1):.2f} per commit")
    for name, count in by_tree.most_common():
        print(f"  {count / max(commits, 1):6.2f}  {name}")


if __name__ == "__main__":
    main()
