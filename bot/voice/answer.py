"""Answer a call in time: Twilio hangs up on a voice webhook after 15 seconds.

Each voice step runs as its own task. When it is not done within ``budget`` seconds, the
caller hears ``hold_prompt`` and a short pause, and Twilio is redirected back to the same
action URL with ``&hold=K``; that request waits for the step again and returns its answer
(from the task, or from the store's idempotency record when another process ran it). After
``max_wait`` seconds of holding the caller gets the apology instead of dead air, and the step
is cancelled so it does not commit behind the caller's back (a store transaction already
under way commits or rolls back whole: SQLite finishes it on its thread, PostgreSQL rolls it
back).

Time to answer is measured for every request; answers over budget are logged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field

from bot.engine.engine import Engine
from bot.errors import RoutingError
from bot.events.keys import key_for
from bot.events.urls import action_url
from bot.events.voice import VoiceEvent
from bot.twiml.voice import Pause, Redirect, Reject, Say

__all__ = ["DEFAULT_BUDGET", "DEFAULT_HOLD_PROMPT", "CallAnswerer"]

log = logging.getLogger("switchboard.voice")

DEFAULT_BUDGET = 3.0
DEFAULT_HOLD_PROMPT = "Please hold on a moment."


@dataclass
class CallAnswerer:
    """Runs voice steps for the web layer within a time budget (one per app)."""

    engine: Engine
    budget: float = DEFAULT_BUDGET
    hold_prompt: str = DEFAULT_HOLD_PROMPT
    hold_pause: int = 2
    max_wait: float = 60.0
    pending: dict[str, asyncio.Task[str]] = field(default_factory=dict)
    timings: list[float] = field(default_factory=list)  # seconds to answer, most recent last

    async def answer(
        self, event: VoiceEvent, token: str | None = None, deadline: float | None = None
    ) -> str:
        """The TwiML for ``event``: the step's answer, or a holding prompt within budget
        (or within ``deadline`` seconds, the webhook's turn deadline, when that is shorter)."""
        started = time.perf_counter()
        limit = self.budget if deadline is None or deadline > self.budget else deadline
        try:
            if event.hold:
                return await self._resume(event, limit)
            return await self._wait(event, self._task(event, token), limit)
        finally:
            self._measure(event, time.perf_counter() - started)

    def _task(self, event: VoiceEvent, token: str | None) -> asyncio.Task[str]:
        key = event.answers_key
        task = self.pending.get(key)
        if task is None:  # a retry of a step still running joins it
            task = asyncio.get_running_loop().create_task(self.engine.handle(event, token))
            self.pending[key] = task
            task.add_done_callback(functools.partial(self._done, key))
        return task

    def _done(self, key: str, task: asyncio.Task[str]) -> None:
        self.pending.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: a held caller's step may fail with nobody waiting

    async def _wait(self, event: VoiceEvent, task: asyncio.Task[str], limit: float) -> str:
        """The step's answer within ``limit`` seconds, else the holding prompt; the step runs
        on either way, and also when this request is cancelled (the client went away).

        ``asyncio.wait_for(asyncio.shield(task), limit)`` without its extra future, task and
        bookkeeping: one future, woken by whichever comes first, the step or the timer.
        """
        if not task.done():
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()

            def wake(_: object = None) -> None:
                if not waiter.done():
                    waiter.set_result(None)

            task.add_done_callback(wake)
            timer = loop.call_later(limit, wake)
            try:
                await waiter
            finally:
                timer.cancel()
                task.remove_done_callback(wake)
            if not task.done():
                log.warning("call %s: %s took over %.1fs; the caller holds", event.sid,
                            event.kind, limit)  # fmt: skip
                return self._hold(event)
        return task.result()

    async def _resume(self, event: VoiceEvent, limit: float) -> str:
        key = event.answers_key
        task = self.pending.get(key)
        if task is not None:
            return await self._wait(event, task, limit)
        loaded = await self.engine.store.load(key_for(event).id, [key])
        if loaded.response is not None:
            return loaded.response
        return self._hold(event)  # still running elsewhere, or lost: hold, then give up

    def unrouted(self, event: VoiceEvent, error: RoutingError) -> str:
        """The answer for a call to a number no flow answers: a 404 would have Twilio play
        "an application error has occurred". A new call is rejected unanswered (not billed,
        the caller's carrier plays not-in-service); a later request gets the apology."""
        log.error("%s; call %s (%s) refused with TwiML", error, event.sid, event.kind)
        if event.trigger == "call":
            return self.engine.render_call([Reject()])
        return self.engine.render_call(self.engine.apologise(event.channel))

    def holding(self, event: VoiceEvent) -> str:
        """The holding prompt (or, after ``max_wait``, the apology) for ``event`` now."""
        return self._hold(event)

    def _hold(self, event: VoiceEvent) -> str:
        held = event.hold + 1
        if held * (self.budget + self.hold_pause) > self.max_wait:
            log.error("call %s: step %s never finished; apologising", event.sid, event.step)
            task = self.pending.get(event.answers_key)
            if task is not None:
                task.cancel()  # the caller heard the apology: the step must not commit later
            return self.engine.render_call(self.engine.apologise(event.channel))
        url = action_url(event.webhook, event.step, event.via, hold=held)
        prompt = [Say(self.hold_prompt)] if held == 1 else []
        return self.engine.render_call([*prompt, Pause(self.hold_pause), Redirect(url)])

    async def drain(self, grace: float = 10.0) -> None:
        """Let running steps finish (at shutdown, before the store closes); cancel stragglers."""
        tasks = list(self.pending.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            log.error("a voice step was still running at shutdown; cancelled it")
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def _measure(self, event: VoiceEvent, seconds: float) -> None:
        self.timings.append(seconds)
        del self.timings[:-1000]
        log.debug("call %s (%s) answered in %.3fs", event.sid, event.kind, seconds)
