"""Counting live conversations by flow, state and flow version: what ``switchboard flows check``
reads before a deploy.

It only reads: it never migrates the schema, and never creates a database it was asked to
read (a SQLite file that does not exist is an error, not a new empty database). A database
without migration 0008 (the flow versions) is read too, every row counting as version 0
("before versions"): the check is meant to run before ``switchboard db upgrade``.

Callers waiting for a subflow (the frames of ``conversations.stack``, migration 0012) are
counted too, as ``waiting`` states of their own flows: when the child returns, the engine
places each frame in its flow's running version by the same rules (``bot.engine.frames``).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from storage.backend import Backend
from storage.dialect import Dialect
from storage.errors import ConfigError, SchemaError
from storage.programs import Program
from storage.url import open_store, redact

__all__ = ["FLOW_VERSIONS", "SUBFLOWS", "LiveState", "live_states"]

FLOW_VERSIONS = 8  # the schema migration that added conversations.flow_version/flow_shape
SUBFLOWS = 12  # the schema migration that added conversations.stack


@dataclass(frozen=True, slots=True)
class LiveState:
    """How many open conversations of ``flow`` are in ``state`` at one version of it."""

    flow: str
    state: str
    flow_version: int
    flow_shape: str
    count: int
    waiting: bool = False  # callers waiting in ``state`` for a subflow to return


def _live(d: Dialect, versioned: bool) -> Program[list[LiveState]]:
    version = "flow_version, flow_shape" if versioned else "0, ''"
    group = "flow, state" + (", flow_version, flow_shape" if versioned else "")
    rows = yield (
        f"SELECT flow, state, {version}, count(*) FROM conversations WHERE closed = ? "
        f"GROUP BY {group} ORDER BY flow, state",
        (False,),
    )
    return [LiveState(f, s, int(v), str(sh), int(n)) for f, s, v, sh, n in rows]


def _waiting(d: Dialect) -> Program[list[LiveState]]:
    rows = yield "SELECT stack FROM conversations WHERE closed = ? AND stack <> '[]'", (False,)
    found: Counter[tuple[str, str, int, str]] = Counter()
    for (raw,) in rows:
        for frame in d.read_json(raw) or ():
            version = int(frame.get("version") or 0)
            found[
                str(frame["flow"]), str(frame["state"]), version, str(frame.get("shape") or "")
            ] += 1
    return [LiveState(*k, n, waiting=True) for k, n in sorted(found.items())]


def _refuse_missing_file(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return
    path = parts.netloc if parts.netloc == ":memory:" else parts.path.removeprefix("/")
    if path == ":memory:" or not path:
        raise ConfigError(f"{url!r} names no database file to read")
    if not os.path.isfile(path):
        raise ConfigError(f"no SQLite database at {path!r} (nothing was created)")


async def live_states(url: str) -> list[LiveState]:
    """Open conversations at ``url`` counted by flow, state and flow version."""
    _refuse_missing_file(url)
    store = open_store(url, auto_migrate=False)
    if not isinstance(store, Backend):
        raise ConfigError(f"{redact(url)}: not a database this command can read")
    await store.connect()
    try:
        applied = await store.applied_versions()
        if not applied:
            raise SchemaError(f"{store.where} has no Switchboard tables")
        program = _live(store.dialect, FLOW_VERSIONS in applied)
        live = await store.run(program, atomic=False)
        if SUBFLOWS in applied:
            live += await store.run(_waiting(store.dialect), atomic=False)
        return live
    finally:
        await store.close()
