"""The timer runner: fires due stored timers through the engine, on whichever instance runs.

Due timers are claimed with a lease (so two instances never fire the same one at once, and a
crashed instance's timers fire elsewhere after the lease); each fires as a
:class:`~bot.outbound.events.TimerFired` step through the engine's usual path: the
conversation's lock, load, flow, one commit that also deletes the timer. A timer whose
conversation moved on (other state, closed, another flow) is dropped; one whose flow this
app does not run any more (removed from it) is dropped before any step, with a WARNING
line naming the conversation and the timer and its history saying why. Time is the
engine's clock, so a fake clock drives timers in tests and transcripts.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.events.internal import TimerFired
from bot.events.model import Channel, Params
from bot.outbound.background import Background
from storage.protocols import TimerStore
from storage.records import Timer

if TYPE_CHECKING:
    from bot.engine.engine import Engine

__all__ = ["TimerRunner"]

log = logging.getLogger("switchboard.timers")


class TimerRunner:
    """Fires the engine's due timers; ``start()`` polls every ``poll_seconds`` in the background."""

    def __init__(
        self,
        engine: Engine,
        store: TimerStore,
        *,
        poll_seconds: float = 1.0,
        lease_seconds: float = 120.0,
        batch: int = 100,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch
        self.owner = owner or f"timers-{uuid.uuid4().hex[:12]}"
        self.loop = Background(
            "switchboard-timers", self._round, poll_seconds, log=log,
            failed="the timer runner failed a round; retrying shortly",
        )  # fmt: skip

    def start(self) -> None:
        self.loop.start()

    @property
    def running(self) -> bool:
        """Whether the background loop is alive (started, and not ended by an error)."""
        return self.loop.running

    async def stop(self) -> None:
        await self.loop.stop()

    async def _round(self) -> bool:
        return await self.run_once() >= self.batch  # a full batch: more may be due

    async def run_once(self) -> int:
        """Fire every timer due now (one batch); returns how many were claimed."""
        now = self.engine.clock.now()
        timers = await self.store.claim_timers(self.owner, now, now + self.lease, self.batch)
        for timer in timers:
            await self.fire(timer)
        return len(timers)

    async def fire(self, timer: Timer) -> None:
        """Run one timer's step; drop it if its conversation moved on or the step fails."""
        if timer.flow not in self.engine.flows:
            log.warning(
                "conversation %s: timer %s (trigger %r) not fired: its flow %r is not deployed "
                "in this app; dropped", timer.conversation, timer.name, timer.trigger, timer.flow,
            )  # fmt: skip
            reason = f"not fired: flow {timer.flow} is not deployed"
            await self.store.finish_timer(timer, reason)
            return
        event = TimerFired(
            channel=Channel(timer.channel), from_=timer.theirs, to=timer.ours, params=Params(),
            timer=timer,
        )  # fmt: skip
        try:
            await self.engine.handle(event)
        except Exception:
            log.exception("timer %s (trigger %r) failed; dropped", timer.id, timer.trigger)
            await self.store.finish_timer(timer, "not fired: its step failed")
            return
        if await self.store.finish_timer(timer):  # its step did not take it: not fired
            log.info(
                "conversation %s: timer %s (trigger %r) not fired: the conversation moved on "
                "(another state or flow, or closed); dropped",
                timer.conversation, timer.name, timer.trigger,
            )  # fmt: skip

    async def drain(self, rounds: int = 100) -> int:
        """Fire due timers until none are left (tests); returns how many fired."""
        total = 0
        for _ in range(rounds):
            fired = await self.run_once()
            total += fired
            if not fired:
                break
        return total
