"""``/dev/clock``: see and move a dev server's clock (dev mode only; 404 in production).

``GET /dev/clock`` tells the server's now and how far ahead of the wall clock it runs;
``POST /dev/clock`` with ``{"advance": "2h"}`` (JSON; ``s``, ``m``, ``h``, ``d``, ``w``)
moves it forward, fires the timers that are due at the new time at once, wakes the outbox
worker, and answers the new now and how many timers fired. ``switchboard dev clock`` is its
client. Like the dev console, it answers loopback clients only.
"""

from __future__ import annotations

import logging
from ipaddress import ip_address
from typing import Any

from quart import Blueprint, Quart, Response, jsonify, request

from bot.clock import ShiftedClock
from bot.observe.config import parse_duration
from bot.runtime import Runtime
from bot.web.json_body import BadBody, read_object

__all__ = ["mount_dev_clock"]

log = logging.getLogger("switchboard.dev")


def _loopback(addr: str | None) -> bool:
    try:
        return addr is not None and ip_address(addr).is_loopback
    except ValueError:
        return False


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _now(clock: ShiftedClock, **more: Any) -> Response:
    offset = clock.offset
    now = clock.now().isoformat(timespec="seconds")
    return _answer(
        {"now": now, "offset_seconds": offset.total_seconds(), "offset": str(offset), **more}
    )


def mount_dev_clock(app: Quart, runtime: Runtime) -> None:
    """Mount ``/dev/clock`` when ``runtime`` is a dev server's (its clock can move)."""
    clock = runtime.clock
    if not runtime.settings.dev or not isinstance(clock, ShiftedClock):
        return  # production: no such route, so every /dev path is a 404
    bp = Blueprint("dev_clock", __name__, url_prefix="/dev")

    @bp.before_request
    async def loopback_only() -> Response | None:
        if not _loopback(request.remote_addr):
            return _answer({"error": "not found"}, 404)
        return None

    @bp.get("/clock")
    async def show() -> Response:
        return _now(clock)

    @bp.post("/clock")
    async def advance() -> Response:
        try:  # JSON only: no cross-site form posts
            if request.mimetype != "application/json":
                raise BadBody(request.mimetype)
            body = await read_object(request)
        except BadBody:
            return _answer({"error": 'send JSON like {"advance": "2h"}'}, 415)
        try:
            by = parse_duration(str(body.get("advance", "")))
            now = clock.advance(by)
        except ValueError as exc:
            return _answer({"error": f"advance: {exc}"}, 400)
        log.info("dev clock advanced by %s to %s", by, now.isoformat(timespec="seconds"))
        fired = await runtime.timers.drain()
        runtime.outbox.wake()
        return _now(clock, fired=fired)

    app.register_blueprint(bp)
