"""Answer in time: a flow callback slower than the budget gets a holding prompt and a
redirect back, never dead air or a Twilio timeout; a step that never ends gets the apology."""

from __future__ import annotations

import asyncio
from pathlib import Path

from quart import Quart

from bot import Channel, Flow, Router, T, Turn
from bot.flow.voice_conditions import pressed
from bot.testing import Harness
from bot.testing.runner import reply_lines
from bot.voice.answer import CallAnswerer
from bot.web.app import runtime_of

DELAY = {"seconds": 0.5}


class SlowLookup(Flow):
    name = "slow"
    initial = "menu"
    states = ["menu", "done"]
    final_states = ["done"]
    transitions = [T("gather", "menu", "done", conditions=pressed("1"), before="look_up")]

    def on_enter_menu(self, turn: Turn) -> None:
        turn.gather("Press 1 to hear where your order is.", num_digits=1)

    async def look_up(self, turn: Turn) -> None:
        await asyncio.sleep(DELAY["seconds"])
        turn.say("Your order shipped on Monday.")
        turn.hangup()


def _harness(budget: float, max_wait: float = 60.0) -> Harness:
    def configure(app: Quart) -> None:
        answerer: CallAnswerer = runtime_of(app).calls
        answerer.budget, answerer.max_wait, answerer.hold_pause = budget, max_wait, 1

    router = Router()
    router.set_default("slow", Channel.VOICE)
    return Harness.of([SlowLookup], router, configure=configure)


async def test_a_slow_callback_holds_the_caller_then_answers() -> None:
    DELAY["seconds"] = 0.8
    async with _harness(budget=0.15) as harness:
        call = harness.call("+15550001111")
        await call.start()
        started = asyncio.get_running_loop().time()
        reply = await call.press("1")  # the driver follows each redirect back, as Twilio does
        lines = [text for text, _ in reply_lines(reply)]
        assert lines[0] == "say: Please hold on a moment."
        assert lines[-2:] == ["say: Your order shipped on Monday.", "hangup"]
        assert set(lines[1:-2]) == {"pause: 1s"} and 2 <= len(lines[1:-2]) <= 8
        assert asyncio.get_running_loop().time() - started < 2.5
        timings: list[float] = harness.runtime.calls.timings
        # every request was answered near the budget, none waited for the 0.8 s callback
        assert all(t < 0.15 + 0.4 for t in timings)
        stored = await harness.store.conversation(f"voice:{call.sid}")
        assert stored is not None and stored.state == "done" and stored.closed


async def test_the_redirect_back_finds_the_answer_in_the_store() -> None:
    DELAY["seconds"] = 0.2
    async with _harness(budget=0.05) as harness:
        call = harness.call("+15550001111")
        await call.start()
        params = call.params([("Digits", "1")])
        held = await harness.post("/twilio?step=1&on=gather", params)
        redirect = held.root.find("Redirect")
        assert redirect is not None and redirect.text is not None
        assert redirect.text.endswith("/twilio?step=1&on=gather&hold=1")
        await asyncio.sleep(0.4)  # the step finished meanwhile; its task is gone
        answerer: CallAnswerer = harness.runtime.calls
        assert answerer.pending == {}
        path = redirect.text[len(harness.public_url) :]
        done = await harness.post(path, call.params())
        assert [e.tag for e in done.root] == ["Say", "Hangup"]
        # Twilio retrying the original request gets the same answer, not a second step.
        again = await harness.post("/twilio?step=1&on=gather", params)
        assert again.body == done.body


async def test_a_step_that_never_finishes_ends_in_the_apology_not_dead_air() -> None:
    DELAY["seconds"] = 3.0  # far longer than the holds take in real time (3 x 0.05 s)
    async with _harness(budget=0.05, max_wait=2.5) as harness:
        call = harness.call("+15550001111")
        await call.start()
        reply = await call.press("1")
        lines = [text for text, _ in reply_lines(reply)]
        assert lines[:3] == ["say: Please hold on a moment.", "pause: 1s", "pause: 1s"]
        assert lines[-2].startswith("say: Sorry") and lines[-1] == "hangup"
        await asyncio.sleep(0.05)
        answerer: CallAnswerer = harness.runtime.calls
        assert answerer.pending == {}  # the step was cancelled, not left to commit later
        stored = await harness.store.conversation(f"voice:{call.sid}")
        assert stored is not None and stored.state == "menu" and not stored.closed


async def test_the_redirect_back_can_land_on_another_instance(tmp_path: Path) -> None:
    """Two app instances on one database: the holding redirect reaches the one that did not
    run the step; it holds the caller until the other commits, then answers from the store."""
    DELAY["seconds"] = 0.3
    first, second = _harness(budget=0.05), _harness(budget=0.05)
    first.db_path = second.db_path = tmp_path / "shared.db"
    async with first, second:
        call = first.call("+15550001111")
        await call.start()
        params = call.params([("Digits", "1")])
        held = await first.post("/twilio?step=1&on=gather", params)
        redirect = held.root.find("Redirect")
        assert redirect is not None and redirect.text is not None
        path = redirect.text[len(first.public_url) :]
        still = await second.post(path, params)  # the step is still running on `first`
        assert [e.tag for e in still.root] == ["Pause", "Redirect"]
        assert (still.root[1].text or "").endswith("&hold=2")
        await asyncio.sleep(0.5)
        done = await second.post((still.root[1].text or "")[len(first.public_url) :], params)
        assert [e.tag for e in done.root] == ["Say", "Hangup"]
