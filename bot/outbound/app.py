"""Outbound messaging wired into an app: the outbox worker and timer runner, tied to its life.

``create_app`` calls :func:`attach_outbound`; both background tasks start after the store
opens and stop before it closes. With ``SWITCHBOARD_OUTBOX_WORKER=0`` a process only enqueues
(another process sends); without Twilio credentials messages wait in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from quart import Quart

import bot.outbound.delivery  # noqa: F401 - registers the MessageStatus callback handler
from bot.engine.engine import Engine
from bot.outbound.timers import TimerRunner
from bot.outbound.worker import Outbox
from bot.settings import Settings

__all__ = ["Outbound", "attach_outbound", "outbound_of"]


@dataclass
class Outbound:
    """The outbox worker and timer runner of one app."""

    outbox: Outbox
    timers: TimerRunner
    background: bool

    def start(self) -> None:
        if self.background:
            self.outbox.start()
            self.timers.start()

    async def stop(self) -> None:
        await self.timers.stop()
        await self.outbox.stop()

    async def drain(self) -> int:
        """Fire due timers and send due messages until nothing is left; returns how many."""
        total = 0
        while True:
            done = await self.timers.drain() + await self.outbox.drain()
            total += done
            if not done:
                return total


def attach_outbound(app: Quart, engine: Engine, settings: Settings) -> Outbound:
    """Build the outbox and timer runner for ``engine`` and remember them on ``app``."""
    config = settings.outbound
    outbox = Outbox(
        engine.store, config, engine.clock, gate=engine.gate,
        public_url=settings.public_url,
    )  # fmt: skip
    engine.outbox = outbox
    timers = TimerRunner(
        engine, poll_seconds=config.poll_seconds, lease_seconds=config.lease_seconds,
        batch=config.batch,
    )  # fmt: skip
    outbound = Outbound(outbox, timers, background=config.worker)
    app.extensions["switchboard.outbound"] = outbound
    return outbound


def outbound_of(app: Quart) -> Outbound:
    """The outbound machinery of ``app``."""
    found: Outbound = app.extensions["switchboard.outbound"]
    return found
