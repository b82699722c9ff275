"""Transcript lines for hand-off, and the Python harness acting as an operator.

``[handed off]``                  check: the conversation is in the hands of people
``[returned to flow]``            check: it is not (any more)
``> [operator alice claim]``      operator ``alice`` claims the waiting hand-off
``> [operator alice say "Hi!"]``  ...replies (quote text with spaces, as shell words)
``> [operator alice return]``     ...gives it back at the resume state (or ``return STATE``)
``> [operator alice close]``      ...closes it; ``take_over REASON`` takes an open one over

An operator line answers with the messages the person received meanwhile (the outbox is
sent), so ``<`` lines after it read like any reply; a refused action fails the transcript
with the operator error's message.
"""

from __future__ import annotations

from bot.admin.errors import OperatorError
from bot.admin.handoff import Handoffs
from bot.dev.harness import Harness
from bot.dev.reply import Reply
from bot.flow.handoff import current
from bot.testing.outbound import outbound_reply
from bot.testing.runner import CALLER_ACTIONS, Runner
from bot.testing.transcript import Send

__all__ = ["Operator", "operator_action", "state_of_handoff"]


class Operator:
    """An operator for Python tests: ``Operator(harness, "alice").claim(key)``…"""

    def __init__(self, harness: Harness, name: str) -> None:
        admin = harness.runtime.admin
        if admin is None:
            raise RuntimeError("this app's store has no admin operations (not a Backend)")
        self.handoffs: Handoffs = admin.handoffs
        self.name = name

    async def act(self, key: str, verb: str, rest: str = "") -> None:
        h, who = self.handoffs, self.name
        if verb == "claim":
            await h.claim(key, who)
        elif verb == "say":
            await h.reply(key, who, rest)
        elif verb == "return":
            await h.give_back(key, who, rest or None)
        elif verb == "close":
            await h.close(key, who)
        elif verb == "take_over":
            await h.take_over(key, who, rest)
        else:
            raise ValueError(
                f"unknown operator action {verb!r}: claim, say, return, close, take_over"
            )


async def operator_action(runner: Runner, step: Send) -> Reply:
    """``[operator NAME VERB ...]``."""
    if len(step.args) < 2 or runner.harness is None:
        raise runner.fail(step, "[operator] needs a name and an action: [operator alice claim]")
    name, verb, *rest = step.args
    try:
        await Operator(runner.harness, name).act(runner.key, verb, " ".join(rest))
    except (OperatorError, ValueError) as exc:
        raise runner.fail(step, f"operator {name} could not {verb}: {exc}") from None
    return await outbound_reply(runner)


async def state_of_handoff(harness: Harness, key: str) -> bool:
    """Whether conversation ``key`` is in the hands of people now."""
    stored = await harness.store.conversation(key)
    return stored is not None and not stored.closed and current(stored.data) is not None


CALLER_ACTIONS["operator"] = operator_action
