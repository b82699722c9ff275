"""``POST /twilio/status``: delivery and call-progress callbacks, dispatched by kind.

Twilio posts message status (``MessageStatus``), call status (``CallStatus``), recording
(``RecordingStatus``) and transcription (``TranscriptionStatus``) callbacks here. The runtime
lists one handler per kind (``Runtime.status_handlers``); the first whose parameter is
present handles the callback. Callbacks do not steer anything Twilio does next, so the
answer is always ``204 No Content`` unless the request itself is bad (4xx).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from bot.events.model import Params
from bot.runtime import StatusHandler

__all__ = ["dispatch_status"]

log = logging.getLogger("switchboard.status")


async def dispatch_status(
    handlers: Sequence[tuple[str, StatusHandler]], params: Params, query: Mapping[str, str]
) -> None:
    """Hand the callback to the first handler whose parameter it carries; log the rest."""
    for parameter, handler in handlers:
        if parameter in params:
            await handler(params, query)
            return
    log.info("ignored a status callback of unknown kind: %s", sorted(params.keys()))
