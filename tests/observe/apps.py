"""A small flow and an app factory with observability settings, for the observe tests."""

from __future__ import annotations

from dataclasses import replace

from quart import Quart

from bot import Flow, Router, Settings, T, Turn, create_app
from bot.clock import Clock
from bot.dev.clock import FakeClock
from bot.flow.intents import Timeout
from bot.observe.config import ObserveSettings
from bot.testing import Harness
from storage.base import Store

__all__ = ["Quiz", "harness"]


class Quiz(Flow):
    """ask → answered (a message queued through the outbox) → done, by a reply or after 10
    minutes without one; ``boom`` raises."""

    name = "quiz"
    initial = "ask"
    states = ["ask", "answered", "done"]
    transitions = [
        T("message", "ask", "answered", conditions="is_yes", after="confirm"),
        T("message", "ask", "ask", conditions="is_boom", after="explode"),
        T("message", "answered", "done"),
        T("no_reply", "answered", "done"),
        T("invalid", "*", None, after="again"),
    ]
    final_states = ["done"]
    timeouts = {"answered": [Timeout("10m", "no_reply")]}

    def on_enter_ask(self, turn: Turn) -> None:
        turn.say("Yes?")

    def is_yes(self, turn: Turn) -> bool:
        return turn.text.lower() == "yes"

    def is_boom(self, turn: Turn) -> bool:
        return turn.text.lower() == "boom"

    def explode(self, turn: Turn) -> None:
        raise RuntimeError("the flow broke")

    def confirm(self, turn: Turn) -> None:
        turn.send("Thanks, noted: yes")
        turn.say("Got it")

    def again(self, turn: Turn) -> None:
        turn.say("Say yes")


def harness(
    observe: ObserveSettings, database_url: str | None = None, clock: FakeClock | None = None
) -> Harness:
    """A harness serving :class:`Quiz` with ``observe`` settings (on ``database_url``)."""

    def factory(settings: Settings, *, store: Store, clock: Clock) -> Quart:
        settings = replace(settings, observe=observe)
        return create_app([Quiz], Router(default="quiz"), settings, store=store, clock=clock)

    return Harness(factory, database_url=database_url, clock=clock or FakeClock())
