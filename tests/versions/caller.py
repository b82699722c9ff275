"""A caller and its child in two versions: the fixtures of issue 15's redeploy tests.

- ``CallerV1`` asks a name, then calls ``Code`` in ``calling``.
- ``CallerV2`` renames ``calling`` to ``checking`` and ``name`` to ``first``, with a migration.
- ``Careless`` is v2 without the migration: a caller waiting in ``calling`` is lost.
- ``misplaced(target)`` is v2 whose migration moves ``calling`` to ``target``, a state with no
  ``failed`` transition (``asking`` calls ``Pin``; ``start`` waits for a message).
"""

from __future__ import annotations

from typing import Any

from bot import Flow, T, Turn, text_is
from bot.flow.versions import Lost, Migration

__all__ = ["CallerV1", "CallerV2", "Careless", "Code", "Pin", "misplaced"]


class Code(Flow):
    name = "code"
    states = ["ask", "ok", "wrong"]
    initial = "ask"
    final_states = ["ok", "wrong"]
    outcomes = {"wrong": "failed"}
    transitions = [
        T("message", "ask", "ok", conditions=text_is("1234")),
        T("message", "ask", "wrong"),
    ]

    def on_enter_ask(self, turn: Turn) -> None:
        turn.say("The code?")


class CallerV1(Flow):
    name = "caller"
    states = ["start", "calling", "done", "sad"]
    initial = "start"
    final_states = ["done", "sad"]
    subflows = {"calling": Code}
    transitions = [
        T("message", "start", "calling", before="keep"),
        T("completed", "calling", "done"),
        T("failed", "calling", "sad"),
    ]

    def on_enter_start(self, turn: Turn) -> None:
        turn.say("Your name?")

    def keep(self, turn: Turn) -> None:
        turn.data["name"] = turn.text

    def on_enter_done(self, turn: Turn) -> None:
        turn.say(f"Done, {turn.data.get('name') or turn.data.get('first')}.")

    def on_enter_sad(self, turn: Turn) -> None:
        turn.say("Not verified.")


class CallerV2(CallerV1):
    """``calling`` renamed ``checking``, ``name`` renamed ``first``, with a migration."""

    version = 2
    states = ["start", "checking", "done", "sad"]
    subflows = {"checking": Code}
    migrations = [Migration(to=2, renamed={"calling": "checking"}, data="upgrade")]
    transitions = [
        T("message", "start", "checking", before="keep"),
        T("completed", "checking", "done"),
        T("failed", "checking", "sad"),
    ]

    def upgrade(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"first": data.pop("name", "?"), **data}


class Careless(CallerV2):
    """v2 without its migration: a caller waiting in ``calling`` is lost."""

    migrations = []
    lost_message = "We changed things; sorry."

    def place_lost(self, turn: Turn, old_state: str) -> str:
        outcome = turn.result.outcome.value if turn.result else None
        turn.say(f"You were in {old_state}; the code was {outcome}.")
        return "done"


class Pin(Flow):
    name = "pin"
    states = ["ask", "ok"]
    initial = "ask"
    final_states = ["ok"]
    transitions = [T("message", "ask", "ok")]

    def on_enter_ask(self, turn: Turn) -> None:
        turn.say("The PIN?")


def misplaced(target: str, policy: Lost = Lost.RESTART) -> type[Flow]:
    """v2 whose migration moves a caller waiting in ``calling`` to ``target``; ``on_lost``
    is ``policy`` (``place_lost`` is ``Careless``'s)."""

    class Misplaced(Careless):
        on_lost = policy
        states = ["start", "checking", "asking", "done", "sad"]
        subflows = {"checking": Code, "asking": Pin}
        migrations = [Migration(to=2, renamed={"calling": target})]
        transitions = [
            T("message", "start", "asking", conditions=text_is("pin")),
            *CallerV2.transitions,
            T("completed", "asking", "done"),
        ]

    return Misplaced
