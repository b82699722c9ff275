"""Flow versions: what a flow declares about its own history, and its structural fingerprint.

A flow declares ``version`` (an integer, 1 by default) and, when a version renames or removes
states or changes the shape of its data, a :class:`Migration` to that version. Every stored
conversation records the version (and the fingerprint) it runs; :mod:`bot.flow.placement`
places a stored conversation in the running definition, and ``switchboard flows check``
reports what it would do to every live conversation before a deploy.

The fingerprint (:func:`fingerprint`) is derived from the definition's structure (states,
initial and final states, transitions with their triggers, timeouts' triggers), so a change is
noticed even when nobody bumps ``version``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.errors import FlowDefinitionError

__all__ = [
    "DEFAULT_LOST_MESSAGE",
    "DataUpgrade",
    "Lost",
    "Migration",
    "MigrationCheck",
    "fingerprint",
]

# What a data upgrade is: a method name of the flow, or a function of the data. It returns
# the new data, or None when it changed the dict it was given in place.
DataUpgrade = str | Callable[[dict[str, Any]], dict[str, Any] | None]

DEFAULT_LOST_MESSAGE = (
    "Sorry, we changed this service and could not pick up where we were. Let's start again."
)


class Lost(StrEnum):
    """What happens to a conversation the running flow cannot place (its state is gone and no
    migration maps it): the flow's ``on_lost``.

    ``restart`` enters the initial state afresh, after ``lost_message``; ``close`` closes the
    conversation, answering ``lost_message`` (the person's next message starts anew);
    ``handler`` calls the flow's ``place_lost(self, turn, old_state) -> str`` method, which
    answers the message and returns the state to continue in.
    """

    RESTART = "restart"
    CLOSE = "close"
    HANDLER = "handler"


@dataclass(frozen=True)
class Migration:
    """How a conversation moves from version ``to - 1`` of its flow to version ``to``.

    ``renamed`` maps old state names to their new names; ``removed`` maps states that no
    longer exist to the state a conversation in them continues in. ``data`` upgrades the
    conversation's data: a method name of the flow (called on a flow in the old state, with
    the data) or a function of the data; it returns the new data or changes it in place.
    A version that changes neither needs no migration.
    """

    to: int
    renamed: Mapping[str, str] = field(default_factory=dict)
    removed: Mapping[str, str] = field(default_factory=dict)
    data: DataUpgrade | None = None

    @property
    def states(self) -> dict[str, str]:
        """Every old state this step maps, to its state in version ``to``."""
        return {**self.removed, **self.renamed}


def fingerprint(
    states: Sequence[str],
    initial: str,
    final: Iterable[str],
    transitions: Iterable[Mapping[str, Any]],
    timeouts: Mapping[str, Iterable[Any]],
) -> str:
    """A short hash of the definition's structure: equal for equal structures."""
    edges = sorted(
        [str(t["trigger"]), sorted(map(str, _as_list(t.get("source")))), str(t.get("dest"))]
        for t in transitions
    )
    timed = {state: sorted(str(t.trigger) for t in items) for state, items in timeouts.items()}
    shape = {
        "states": list(states), "initial": initial, "final": sorted(final), "edges": edges,
        "timeouts": dict(sorted(timed.items())),
    }  # fmt: skip
    raw = json.dumps(shape, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:12]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


class MigrationCheck:
    """Validates a flow's ``version``, ``migrations`` and lost-conversation policy."""

    def __init__(self, cls: type[Any], flow: str, states: Sequence[str]) -> None:
        self.cls, self.flow, self.states = cls, flow, set(states)

    def fail(self, what: str) -> FlowDefinitionError:
        return FlowDefinitionError(f"flow {self.flow!r}: {what}")

    def run(self) -> tuple[int, tuple[Migration, ...]]:
        """(the version, the migrations in order), or :class:`FlowDefinitionError`."""
        version = getattr(self.cls, "version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise self.fail(f"version must be a whole number from 1, not {version!r}")
        steps = sorted(self._each(version), key=lambda m: m.to)
        for index, step in enumerate(steps):
            self._maps_into_current(step, steps[index + 1 :])
        self._policy()
        return version, tuple(steps)

    def _each(self, version: int) -> list[Migration]:
        seen: set[int] = set()
        found = []
        for step in getattr(self.cls, "migrations", ()) or ():
            if not isinstance(step, Migration):
                raise self.fail(f"migrations must be Migration(...), got {step!r}")
            if isinstance(step.to, bool) or not isinstance(step.to, int):
                raise self.fail(f"Migration(to={step.to!r}) needs a version number")
            if not 2 <= step.to <= version:
                raise self.fail(
                    f"Migration(to={step.to}) is outside versions 2..{version} (the flow is "
                    f"at version {version}: bump `version` or fix `to`)"
                )
            if step.to in seen:
                raise self.fail(f"declares two migrations to version {step.to}")
            seen.add(step.to)
            self._data(step)
            found.append(step)
        return found

    def _data(self, step: Migration) -> None:
        where = f"Migration(to={step.to}) data"
        target: Any = step.data
        if isinstance(step.data, str):
            target = getattr(self.cls, step.data, None)
            if target is None or not callable(target):
                raise self.fail(f"{where} names {step.data!r}, which is not a method of the flow")
        elif step.data is not None and not callable(step.data):
            raise self.fail(f"{where} must be a method name or a function, not {step.data!r}")
        if target is not None and inspect.iscoroutinefunction(target):
            raise self.fail(f"{where} must be a plain function (it runs while loading)")

    def _maps_into_current(self, step: Migration, later: Sequence[Migration]) -> None:
        for old, new in step.states.items():
            if not isinstance(old, str) or not isinstance(new, str):
                raise self.fail(f"Migration(to={step.to}) maps {old!r} to {new!r}: use names")
            final = new
            for after in later:
                final = after.states.get(final, final)
            if final not in self.states:
                raise self.fail(
                    f"Migration(to={step.to}) maps state {old!r} to {new!r}, which is not a "
                    "state of the current version (nor mapped on by a later migration)"
                )

    def _policy(self) -> None:
        policy = getattr(self.cls, "on_lost", Lost.RESTART)
        if policy not in tuple(Lost):
            raise self.fail(f"on_lost must be one of {[p.value for p in Lost]}, not {policy!r}")
        handler = getattr(self.cls, "place_lost", None)
        if Lost(policy) is Lost.HANDLER and (handler is None or not callable(handler)):
            raise self.fail("on_lost = 'handler' needs a method place_lost(self, turn, old_state)")
        message = getattr(self.cls, "lost_message", None)
        if message is not None and not isinstance(message, str):
            raise self.fail(f"lost_message must be text or None, not {message!r}")
