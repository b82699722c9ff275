"""A small app for outbound tests: a flow that sends, schedules and waits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import Flow, Router, T, Turn, text_is
from bot.flow.intents import Timeout
from bot.outbound.config import OutboundSettings
from bot.outbound.ratelimit import DEFAULT_RATES
from bot.testing import Harness

OURS = "+15550100000"
CALLER = "+15550001111"


class Notify(Flow):
    """Sends through the outbox, schedules a timer, waits for a reply with timeouts."""

    name = "notify"
    triggers = ["beep", "remind_tpl"]  # fired by turn.schedule
    initial = "idle"
    states = ["idle", "waiting", "done"]
    final_states = ["done"]
    transitions = [
        T("message", "idle", None, conditions=text_is("ping"), after="pong"),
        T("message", "idle", None, conditions=text_is("tell"), after="tell_other"),
        T("message", "idle", "waiting", conditions=text_is("wait")),
        T("message", "idle", None, conditions=text_is("later"), after="later"),
        T("message", "idle", None, conditions=text_is("long"), after="long"),
        T("message", "idle", None, conditions=text_is("quote"), after="quote"),
        T("message", "idle", None, conditions=text_is("burst"), after="burst"),
        T("beep", "idle", None, after="beep"),
        T("message", "idle", None, conditions=text_is("promo"), after="promo"),
        T("message", "idle", None, conditions=text_is("tomorrow"), after="tomorrow"),
        T("remind_tpl", "idle", None, after="remind_tpl"),
        T("message", "waiting", "idle", after="got_reply"),
        T("nudge", "waiting", None, after="nudge"),
        T("give_up", "waiting", "done", after="bye"),
        T("start", "idle", None),
        T("invalid", "*", None, after="what"),
    ]
    timeouts = {"waiting": [Timeout("2h", "nudge"), Timeout("24h", "give_up")]}

    def on_enter_idle(self, turn: Turn) -> None:
        turn.say(turn.data.get("greeting", "Hello from us."))

    def pong(self, turn: Turn) -> None:
        turn.send("pong")

    def tell_other(self, turn: Turn) -> None:
        turn.send("Someone asked for you.", to="+15550009999")

    def later(self, turn: Turn) -> None:
        turn.schedule("beep", "30m")
        turn.say("ok, in 30 minutes")

    def long(self, turn: Turn) -> None:
        turn.send("x" * 700)

    def burst(self, turn: Turn) -> None:
        for body in ("one", "two", "three"):
            turn.send(body)

    def quote(self, turn: Turn) -> None:
        turn.send("It’s “fine” — really")

    def tomorrow(self, turn: Turn) -> None:
        turn.schedule("remind_tpl", "25h")

    def remind_tpl(self, turn: Turn) -> None:
        turn.send(
            "Your appointment is tomorrow.", template="reminder",
            content_variables={"1": "tomorrow"},
        )  # fmt: skip

    def promo(self, turn: Turn) -> None:
        turn.say("ok")
        turn.send("Sale! 20% off today.", purpose="campaign")

    def beep(self, turn: Turn) -> None:
        turn.say("beep!")

    def on_enter_waiting(self, turn: Turn) -> None:
        turn.say("Reply with anything.")

    def got_reply(self, turn: Turn) -> None:
        turn.say(f"Got {turn.text!r}.")

    def nudge(self, turn: Turn) -> None:
        turn.say("Still there?")

    def bye(self, turn: Turn) -> None:
        turn.say("Closing this, bye.")

    def what(self, turn: Turn) -> None:
        turn.say("?")


def settings(**changes: Any) -> OutboundSettings:
    """The harness's outbound settings (no rate limit, no background worker), changed."""
    fast = dict.fromkeys(DEFAULT_RATES, 1e6)
    return OutboundSettings(**{"worker": False, "default_rates": fast, **changes})


def make_harness(**kwargs: object) -> Harness:
    return Harness.of([Notify], Router(default="notify"), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each backend (PostgreSQL: a schema of its own, dropped after)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with make_harness() as started:
        yield started
