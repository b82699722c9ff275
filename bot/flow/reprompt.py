"""A state's reprompt policy: repeat the prompt up to ``times`` times, then fall back.

``reprompt("menu", times=1, fallback="goodbye")`` returns transitions to add to a flow:
silence (``no_input``) and input no transition takes (``invalid``) re-enter ``menu`` (its
``on_enter`` plays the prompt again, after an optional apology), and the failure after
``times`` repeats goes to ``fallback``. Failures count only while consecutive: the count is
kept with the step whose prompt the caller is answering, so coming back to the state later
starts afresh. It works on messaging channels too (``invalid`` only).
"""

from __future__ import annotations

from typing import Any

from bot.events.voice import VoiceEvent
from bot.flow.definition import T
from bot.flow.turn import Turn

__all__ = ["REPROMPT_KEY", "reprompt"]

REPROMPT_KEY = "_reprompt"  # in turn.data: {"state", "count", "step"}


def _answered_step(turn: Turn) -> int:
    event = turn.event
    step = event.step if isinstance(event, VoiceEvent) else None
    return step if step is not None else turn.step - 1


def attempt(turn: Turn) -> int:
    """Which consecutive failure in the current state this turn is (1 for the first)."""
    mark = turn.data.get(REPROMPT_KEY)
    if (
        isinstance(mark, dict)
        and mark.get("state") == turn.state
        and mark.get("step") == _answered_step(turn)
    ):
        return int(mark.get("count", 0)) + 1
    return 1


def reprompt(
    state: str,
    *,
    times: int,
    fallback: str,
    no_input: str | None = None,
    invalid: str | None = None,
) -> list[dict[str, Any]]:
    """Transitions giving ``state`` its reprompt policy (see the module docstring).

    ``no_input`` / ``invalid`` are said (or sent) before the prompt is repeated.
    """
    if times < 0:
        raise ValueError("reprompt times must be 0 or more")

    def again(turn: Turn) -> bool:
        return attempt(turn) <= times

    def note(message: str | None) -> Any:
        def record(turn: Turn) -> None:
            turn.data[REPROMPT_KEY] = {
                "state": turn.state, "count": attempt(turn), "step": turn.step,
            }  # fmt: skip
            if message:
                turn.say(message)

        record.__name__ = f"reprompt_{state}"
        return record

    def give_up(turn: Turn) -> None:
        turn.data.pop(REPROMPT_KEY, None)

    again.__name__ = f"repeat, at most {times}×"
    give_up.__name__ = f"after {times + 1} tries"  # the diagram labels the fallback with it
    return [
        T("no_input", state, "=", conditions=again, before=note(no_input)),
        T("no_input", state, fallback, before=give_up),
        T("invalid", state, "=", conditions=again, before=note(invalid)),
        T("invalid", state, fallback, before=give_up),
    ]
