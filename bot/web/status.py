"""``POST /twilio/status``: delivery and call-progress callbacks, dispatched by kind.

Twilio posts message status (``MessageStatus``), call status (``CallStatus``), recording
(``RecordingStatus``) and transcription (``TranscriptionStatus``) callbacks here. Each kind
registers one handler with :func:`status_handler`; the first whose parameter is present
handles the callback. Callbacks do not steer anything Twilio does next, so the answer is
always ``204 No Content`` unless the request itself is bad (4xx).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.engine.engine import Engine
from bot.events.model import Params

__all__ = ["STATUS_HANDLERS", "StatusHandler", "dispatch_status", "status_handler"]

log = logging.getLogger("switchboard.status")

StatusHandler = Callable[[Engine, Params], Awaitable[None]]
# (parameter that identifies the kind, handler), tried in order.
STATUS_HANDLERS: list[tuple[str, StatusHandler]] = []


def status_handler(parameter: str) -> Callable[[StatusHandler], StatusHandler]:
    """Register the handler for callbacks carrying ``parameter`` (e.g. ``"MessageStatus"``)."""

    def register(handler: StatusHandler) -> StatusHandler:
        STATUS_HANDLERS.append((parameter, handler))
        return handler

    return register


async def dispatch_status(engine: Engine, params: Params) -> None:
    """Hand the callback to the first handler whose parameter it carries; log the rest."""
    for parameter, handler in STATUS_HANDLERS:
        if parameter in params:
            await handler(engine, params)
            return
    log.info("ignored a status callback of unknown kind: %s", sorted(params.keys()))
