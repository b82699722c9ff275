"""Placing a stored conversation in the running version of its flow.

:func:`place` decides, without I/O, what the running code does with a conversation stored at
some version of its flow; the engine applies it when the conversation is next loaded (under
its lock, in the same transaction as the turn) and ``switchboard flows check`` reports it for
every live conversation before a deploy. Both call this one function, so the check says
exactly what the engine will do.

- **current**: it runs this version (or was written before versions and its state exists
  here): it continues as it is.
- **migrated**: it runs an earlier version; the flow's migrations from its version up to this
  one map its state (renames, removals) and upgrade its data, and the result is a state here.
- **ahead**: it was written by newer code (a higher version): this process must not step it
  backwards; the engine refuses the event with a retry (503).
- **lost**: its state does not exist here and no migration maps it: the flow's ``on_lost``
  policy decides (restart, close, or the flow's handler), and it is logged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.flow.definition import CompiledFlow
from bot.flow.versions import Migration

__all__ = ["Outcome", "Placement", "place"]


class Outcome(StrEnum):
    """What placing a stored conversation found (see the module docstring)."""

    CURRENT = "current"
    MIGRATED = "migrated"
    AHEAD = "ahead"
    LOST = "lost"


@dataclass(frozen=True)
class Placement:
    """Where a stored conversation stands in the running flow.

    ``state`` and ``data`` are the conversation's after any migration (for ``lost``, the state
    it was left in by the migrations that applied); ``versions`` the versions it was migrated
    to, in order.
    """

    outcome: Outcome
    state: str
    data: dict[str, Any]
    from_version: int
    to_version: int
    versions: tuple[int, ...] = ()


def place(
    flow: CompiledFlow,
    state: str,
    data: dict[str, Any],
    version: int,
    shape: str,
    *,
    upgrade_data: bool = True,
) -> Placement:
    """Place a conversation stored in ``state`` at ``version`` (fingerprint ``shape``).

    A ``version`` of 0 means written before versions: placed by its state alone when it exists
    here, else migrated from the oldest migration. ``upgrade_data=False`` maps states only
    (what ``flows check`` does: it never runs a flow's code on stored data).
    """
    here = flow.version
    if version > here:
        return Placement(Outcome.AHEAD, state, data, version, here)
    if state in flow.state_names and version in (0, here):
        return Placement(Outcome.CURRENT, state, data, version, here)
    if version == here:  # same number, another structure, and the state is gone
        return Placement(Outcome.LOST, state, data, version, here)
    steps = [m for m in flow.migrations if version == 0 or m.to > version]
    new_state, new_data = state, copy.deepcopy(data)
    for step in steps:
        new_state = step.states.get(new_state, new_state)
        if upgrade_data and step.data is not None:
            new_data = _upgrade(flow, step, new_state, new_data)
    done = tuple(m.to for m in steps)
    outcome = Outcome.MIGRATED if new_state in flow.state_names else Outcome.LOST
    return Placement(outcome, new_state, new_data, version, here, done)


def _upgrade(
    flow: CompiledFlow, step: Migration, state: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Run one migration's data upgrade; it returns new data or changes ``data`` in place."""
    upgrade = step.data
    if isinstance(upgrade, str):
        result = getattr(flow.cls(state), upgrade)(data)
    elif upgrade is not None:
        result = upgrade(data)
    else:
        return data
    if result is None:
        return data
    if not isinstance(result, dict):
        raise TypeError(
            f"flow {flow.name!r}: Migration(to={step.to}) data returned {type(result).__name__},"
            " not a dict (return the new data, or None after changing it in place)"
        )
    return result
