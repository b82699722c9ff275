"""Placing a loaded conversation in the running version of its flow, before its step.

The engine calls :func:`place_loaded` right after the load, under the conversation's lock; the
migration it applies is written in the same transaction as the step (lazily: a deploy rewrites
no rows at once). The decision itself is :func:`bot.flow.placement.place`, shared with
``switchboard flows check``. Nothing here is silent: a migration leaves a ``migrated`` entry
in the conversation's log, a conversation that cannot be placed a ``lost`` entry and a
warning naming its key and old state, and one written by newer code a warning before the
event is refused with :class:`~bot.errors.NewerFlowVersion`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from bot.engine.frames import check_frames
from bot.errors import NewerFlowVersion
from bot.events.keys import ConversationKey
from bot.events.model import Event
from bot.flow.definition import CompiledFlow
from bot.flow.placement import Outcome, place
from bot.flow.versions import Lost
from storage.records import Conversation, Direction, LogEntry, Marker

__all__ = ["Placed", "place_for_step", "place_loaded"]

log = logging.getLogger("switchboard.engine")


@dataclass(frozen=True, slots=True)
class Placed:
    """A loaded conversation as its step sees it.

    ``stored`` is the conversation after any migration; ``entries`` go to its log before the
    step's own; ``lost`` is the policy to apply when it could not be placed; ``old_state`` the
    state it was stored in (when lost or migrated); ``migrated`` whether a migration changed
    it (then it is saved even if the step's callbacks raise).
    """

    stored: Conversation | None
    entries: tuple[LogEntry, ...] = ()
    lost: Lost | None = None
    old_state: str | None = None
    migrated: bool = False


def place_loaded(
    flow: CompiledFlow,
    key: ConversationKey,
    stored: Conversation | None,
    now: datetime,
    flows: Collection[str] = (),
) -> Placed:
    """Place ``stored`` in ``flow``'s running version (see :mod:`bot.flow.placement`).

    ``flows`` are the names of the flows this process runs: an open conversation of another
    flow starts afresh in ``flow``, logged as lost when its own flow is gone. Raises
    :class:`NewerFlowVersion` when newer code already stepped it, and lets a data upgrade's
    own error through (the engine then apologises and writes nothing).
    """
    if stored is None or stored.closed:
        return Placed(stored)  # a new or closed conversation starts afresh
    if stored.flow != flow.name:
        return Placed(stored, _gone(flow, key, stored, now) if stored.flow not in flows else ())
    if stored.stack and isinstance(flows, Mapping):
        check_frames(flows, key, stored)  # a caller written by newer code: 503, as below
    if stored.flow_version == flow.version and stored.flow_shape == flow.shape:
        return Placed(stored)  # the hot path: it runs this very definition
    found = place(flow, stored.state, stored.data, stored.flow_version, stored.flow_shape)
    if found.outcome is Outcome.AHEAD:
        log.warning(
            "conversation %s runs flow %r version %d; this process runs version %d: refused "
            "(503) so the retry reaches the newer code",
            key.id, flow.name, stored.flow_version, flow.version,
        )  # fmt: skip
        raise NewerFlowVersion(
            f"conversation {key.id!r} runs flow {flow.name!r} version {stored.flow_version}, "
            f"newer than this process's version {flow.version}; try again"
        )
    if found.outcome is Outcome.CURRENT:
        return Placed(stored)
    meta = {
        "flow": flow.name, "from_version": stored.flow_version, "to_version": flow.version,
        "from_state": stored.state, "to_state": found.state, "shape": flow.shape,
    }  # fmt: skip
    if found.outcome is Outcome.MIGRATED:
        body = f"v{stored.flow_version} → v{flow.version}: {stored.state} → {found.state}"
        entry = _entry(key, Marker.MIGRATED, body, stored.state, found.state, now, meta)
        moved = replace(stored, state=found.state, data=found.data)
        return Placed(moved, (entry,), old_state=stored.state, migrated=True)
    policy = flow.lost
    log.warning(
        "conversation %s cannot be placed in flow %r version %d: its state %r (version %d) is "
        "gone and no migration maps it; policy %s",
        key.id, flow.name, flow.version, stored.state, stored.flow_version, policy.value,
    )  # fmt: skip
    body = f"state {stored.state!r} of v{stored.flow_version} is not in v{flow.version}: {policy}"
    entry = _entry(
        key, Marker.LOST, body, stored.state, None, now, {**meta, "policy": policy.value}
    )
    return Placed(stored, (entry,), policy, stored.state)


def place_for_step(
    flow: CompiledFlow,
    key: ConversationKey,
    stored: Conversation | None,
    event: Event,
    now: datetime,
    flows: Collection[str],
) -> Placed | None:
    """:func:`place_loaded` for the engine's step: ``None`` when a migration's data upgrade
    raised (logged; the step apologises and writes nothing but its log). The lost policy
    applies to input only: a timer or a status callback for a conversation that cannot be
    placed finds nothing to run in its old state (and is logged)."""
    try:
        placed = place_loaded(flow, key, stored, now, flows)
    except NewerFlowVersion:
        raise
    except Exception:
        log.exception(
            "flow %r: migrating conversation %s from version %s raised; nothing written",
            flow.name, key.id, stored.flow_version if stored else None,
        )  # fmt: skip
        return None
    if placed.lost is not None and not event.is_input:
        return replace(placed, lost=None)
    return placed


def _gone(
    flow: CompiledFlow, key: ConversationKey, stored: Conversation, now: datetime
) -> tuple[LogEntry, ...]:
    log.warning(
        "conversation %s was in flow %r (state %r), which this process does not run: it "
        "starts afresh in flow %r",
        key.id, stored.flow, stored.state, flow.name,
    )  # fmt: skip
    meta: dict[str, object] = {
        "flow": stored.flow,
        "from_state": stored.state,
        "policy": "flow_gone",
    }
    body = f"flow {stored.flow!r} is gone: restarted in {flow.name!r}"
    return (_entry(key, Marker.LOST, body, stored.state, None, now, meta),)


def _entry(
    key: ConversationKey, kind: str, body: str, before: str, after: str | None,
    now: datetime, meta: dict[str, object],
) -> LogEntry:  # fmt: skip
    return LogEntry(
        conversation=key.id, direction=Direction.IN, kind=kind, body=body, at=now,
        channel=key.channel.value, state_before=before, state_after=after, meta=meta,
    )  # fmt: skip
