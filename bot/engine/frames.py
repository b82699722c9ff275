"""A waiting caller's frame, placed in its flow's running version (issue 15 with issue 10).

A caller waits in its frame (flow, state, data, version, shape) while its child runs; if its
flow was redeployed meanwhile, the frame was written by another version. Frames are placed
by the same rules as any stored conversation (:func:`bot.flow.placement.place`):

- :func:`check_frames`, at load: a frame written by *newer* code than this process runs is
  refused before anything runs (:class:`~bot.errors.NewerFlowVersion`: 503, Twilio retries
  on the newer instance), as the conversation itself would be;
- :func:`place_frame`, when the child returns: a current frame continues as it is; an older
  one is migrated (its state renamed, its data upgraded, a ``migrated`` entry in the log);
  one whose waiting state is gone with no migration is *lost* and goes to its flow's
  ``on_lost`` policy (a ``lost`` entry and a warning).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.errors import NewerFlowVersion
from bot.events.keys import ConversationKey
from bot.flow.definition import CompiledFlow
from bot.flow.placement import Outcome, place
from bot.flow.versions import Lost
from storage.records import Conversation, Direction, LogEntry, Marker

__all__ = ["FramePlace", "check_frames", "frame_entry", "place_frame"]

log = logging.getLogger("switchboard.subflows")


@dataclass(frozen=True)
class FramePlace:
    """Where a returning child's caller stands: its state and data in the running version,
    ``lost`` when the version could not place it, and the log entries saying so."""

    state: str
    data: dict[str, Any]
    lost: Lost | None = None
    entries: list[LogEntry] = field(default_factory=list)


def _version(frame: Mapping[str, Any]) -> tuple[int, str]:
    return int(frame.get("version") or 0), str(frame.get("shape") or "")


def check_frames(
    flows: Mapping[str, CompiledFlow], key: ConversationKey, stored: Conversation
) -> None:
    """Refuse (503) a conversation whose waiting callers were written by newer code."""
    for frame in stored.stack:
        flow = flows.get(str(frame.get("flow")))
        version, _ = _version(frame)
        if flow is not None and version > flow.version:
            log.warning(
                "conversation %s: its caller %r waits at version %d; this process runs version "
                "%d: refused (503) so the retry reaches the newer code",
                key.id, flow.name, version, flow.version,
            )  # fmt: skip
            raise NewerFlowVersion(
                f"conversation {key.id!r} has caller {flow.name!r} at version {version}, newer "
                f"than this process's version {flow.version}; try again"
            )


def place_frame(
    parent: CompiledFlow, frame: Mapping[str, Any], key: ConversationKey, now: datetime
) -> FramePlace:
    """Place the caller's ``frame`` in ``parent``'s running definition (see the module doc)."""
    state, data = str(frame["state"]), dict(frame.get("data") or {})
    version, shape = _version(frame)
    if version == parent.version and shape == parent.shape:
        return FramePlace(state, data)  # the usual case: nobody redeployed it meanwhile
    found = place(parent, state, data, version, shape)
    if (
        found.outcome is Outcome.AHEAD
    ):  # check_frames refused it at load; a frame pushed since is ours
        raise NewerFlowVersion(f"caller {parent.name!r} of {key.id!r} is at a newer version")
    meta: dict[str, Any] = {
        "flow": parent.name, "from_version": version, "to_version": parent.version,
        "from_state": state, "to_state": found.state, "shape": parent.shape, "caller": True,
    }  # fmt: skip
    if found.outcome is Outcome.CURRENT:
        return FramePlace(state, data)
    if found.outcome is Outcome.MIGRATED:
        body = f"caller v{version} → v{parent.version}: {state} → {found.state}"
        entry = frame_entry(key, Marker.MIGRATED, body, state, found.state, now, meta)
        return FramePlace(found.state, found.data, entries=[entry])
    policy = parent.lost
    log.warning(
        "conversation %s: its caller %r waited in state %r (version %d), which version %d no "
        "longer has and no migration maps; policy %s",
        key.id, parent.name, state, version, parent.version, policy.value,
    )  # fmt: skip
    body = f"caller state {state!r} of v{version} is not in v{parent.version}: {policy}"
    meta["policy"] = policy.value
    entry = frame_entry(key, Marker.LOST, body, state, None, now, meta)
    return FramePlace(state, data, policy, [entry])


def frame_entry(
    key: ConversationKey, kind: Marker, body: str, before: str, after: str | None,
    now: datetime, meta: Mapping[str, Any],
) -> LogEntry:  # fmt: skip
    """A log entry about the call stack itself (a caller migrated, lost, or gone)."""
    return LogEntry(
        conversation=key.id, direction=Direction.IN, kind=kind.value, body=body, at=now,
        channel=key.channel.value, state_before=before, state_after=after, meta=dict(meta),
    )  # fmt: skip
