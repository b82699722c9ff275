"""The admin API under ``/admin/api/``: JSON over :class:`~bot.admin.Operations`.

Mounted only when the console is on (``SWITCHBOARD_CONSOLE_TOKEN`` set, or dev mode), so
otherwise every path here is a 404. With tokens, each request carries
``Authorization: Bearer <token>``; a missing or wrong one is a bare 401 (nothing about which
tokens exist). In dev mode without tokens it answers loopback clients only, as operator
``dev``. State-changing requests must be ``application/json`` and carry
``X-Switchboard-Console: 1``: a cross-site form or image cannot send either without a CORS
preflight, which this API never grants, so no browser can be tricked into an action (there
are no cookies at all). Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import timedelta
from ipaddress import ip_address
from typing import Any

from quart import Blueprint, Response, g, request
from quart.typing import ResponseReturnValue

from bot.admin import Access, ConsoleAccess, Invalid, Operations, OperatorError
from bot.admin.views import (
    audit_json,
    conversation_json,
    cursor_of,
    detail_json,
    message_json,
    search_from,
)
from bot.observe.config import parse_duration
from bot.web.handoff_api import HANDOFF_ACTIONS, handoff_action, handoff_json
from bot.web.json_body import BadBody, read_object
from bot.web.simulator import simulate, simulate_call
from storage.stats import flow_stats

__all__ = ["CSRF_HEADER", "admin_api", "operator_of", "security_headers"]

log = logging.getLogger("switchboard.admin")

CSRF_HEADER = "X-Switchboard-Console"


def security_headers(response: Response) -> Response:
    """Headers every console and API response carries."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _loopback(addr: str | None) -> bool:
    try:
        return addr is not None and ip_address(addr).is_loopback
    except ValueError:
        return False


def operator_of(access: ConsoleAccess) -> str | Response:
    """The operator making this request, or the response refusing it (404 or 401)."""
    if access.mode is Access.DEV:
        return "dev" if _loopback(request.remote_addr) else _error("not found", 404)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    who = access.operator(token.strip() if scheme.lower() == "bearer" else None)
    if who is None:
        response = _error("unauthorized", 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="switchboard"'
        return response
    return who


def _error(message: str, status: int) -> Response:
    return Response(json.dumps({"error": message}), status, content_type="application/json")


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status, content_type="application/json")


async def _body() -> dict[str, Any]:
    """The request's JSON object (every POST reads it, even one that needs nothing from it);
    a malformed, too deeply nested or not-text body is a 400 before anything is written."""
    try:
        return await read_object(request)
    except BadBody as exc:
        raise OperatorError(str(exc)) from None


def _expected(body: dict[str, Any]) -> int | None:
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise OperatorError("version must be a whole number (the version you saw)")
    return version


def _duration(name: str, default: str) -> timedelta:
    """Query parameter ``name`` as a duration; a bad or too long one is a bad parameter (422),
    as a bad list filter is."""
    try:
        return parse_duration(request.args.get(name, default))
    except ValueError as exc:
        raise Invalid(f"{name}: {exc}") from None


def admin_api(ops: Operations, access: ConsoleAccess, *, poll_seconds: float = 1.0) -> Blueprint:
    """The ``/admin/api`` blueprint for ``ops``, guarded by ``access``."""
    bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")

    @bp.before_request
    async def guard() -> Response | None:
        who = operator_of(access)
        if isinstance(who, Response):
            return who
        if request.method not in {"GET", "HEAD", "OPTIONS"}:
            if request.headers.get(CSRF_HEADER) != "1":
                return _error(f"state-changing requests need the {CSRF_HEADER}: 1 header", 403)
            if request.mimetype != "application/json":
                return _error("send the request body as application/json", 415)
        g.operator = who
        return None

    bp.after_request(security_headers)

    @bp.errorhandler(OperatorError)
    async def refused(exc: OperatorError) -> Response:
        return _error(str(exc), exc.status)

    @bp.get("/whoami")
    async def whoami() -> Response:
        return _json({"operator": g.operator, "mode": access.mode.value})

    @bp.get("/conversations")
    async def conversations() -> Response:
        query = search_from(request.args, ops.engine.clock.now())
        found = await ops.search(query)
        more = cursor_of(found[-1]) if len(found) == query.limit else None
        return _json({"conversations": [conversation_json(c) for c in found], "next": more})

    @bp.get("/conversations/<path:key>")
    async def show(key: str) -> Response:
        return _json(detail_json(await ops.show(key)))

    @bp.post("/conversations/<path:key>/<action>")
    async def act(key: str, action: str) -> ResponseReturnValue:
        body, who = await _body(), str(g.operator)
        expected = _expected(body)
        if action == "move":
            state = body.get("state")
            if not isinstance(state, str):
                raise OperatorError('say which state to move to: {"state": "menu"}')
            run = bool(body.get("run_callbacks", False))
            done = await ops.move(key, who, state, run_callbacks=run, expected=expected)
        elif action == "data":
            data = body.get("data")
            if not isinstance(data, dict):
                raise Invalid('data must be a JSON object: {"data": {...}}')
            done = await ops.edit_data(key, who, data, expected=expected)
        elif action == "reset":
            run = bool(body.get("run_callbacks", False))
            done = await ops.reset(key, who, run_callbacks=run, expected=expected)
        elif action == "end":
            done = await ops.end(key, who, expected=expected)
        elif action == "consent":
            done = await ops.set_consent(key, who, str(body.get("status", "")))
        else:
            return _error(f"no action {action!r}: move, data, reset, end or consent", 404)
        return _json({"conversation": conversation_json(done)})

    @bp.get("/handoffs")
    async def handoffs() -> Response:
        found = await ops.handoffs.inbox()
        return _json({"handoffs": [handoff_json(c) for c in found]})

    @bp.get("/handoffs/<path:key>/options")
    async def reply_options(key: str) -> Response:
        window_open, templates = await ops.handoffs.reply_options(key)
        return _json({"free_form": window_open, "templates": templates})

    @bp.post("/handoffs/<path:key>/<action>")
    async def handoff(key: str, action: str) -> ResponseReturnValue:
        done = await handoff_action(ops.handoffs, key, action, await _body(), str(g.operator))
        if done is None:
            return _error(f"no hand-off action {action!r}: {', '.join(HANDOFF_ACTIONS)}", 404)
        return _json({"conversation": conversation_json(done)})

    @bp.post("/conversations/<path:key>/timers/<name>/<action>")
    async def timer(key: str, name: str, action: str) -> Response:
        await _body()
        if action == "cancel":
            done = await ops.cancel_timer(key, str(g.operator), name)
        elif action == "fire":
            done = await ops.fire_timer(key, str(g.operator), name)
        else:
            return _error(f"no timer action {action!r}: cancel or fire", 404)
        return _json({"conversation": conversation_json(done)})

    @bp.post("/outbox/<message_id>/<action>")
    async def outbox(message_id: str, action: str) -> Response:
        await _body()
        if action not in {"retry", "cancel"}:
            return _error(f"no outbox action {action!r}: retry or cancel", 404)
        fn = ops.retry_outbox if action == "retry" else ops.cancel_outbox
        return _json({"message": message_json(await fn(message_id, str(g.operator)))})

    @bp.get("/flows")
    async def flows() -> Response:
        return _json({"flows": [asdict(f) for f in await ops.flows()]})

    @bp.get("/flows/<name>/stats")
    async def flow_statistics(name: str) -> Response:
        """Per-state statistics (``switchboard stats``): ``?since=7d&idle=24h``."""
        if name not in ops.engine.flows:
            return _error(f"no flow {name!r}", 404)
        since, idle = _duration("since", "7d"), _duration("idle", "24h")
        now, runner = ops.engine.clock.now(), ops.runner
        program = flow_stats(runner.dialect, name, now - since, now, idle)
        return _json((await runner.run(program, atomic=False)).as_json())

    @bp.get("/audit")
    async def audit() -> Response:
        key = request.args.get("conversation") or None
        return _json({"audit": audit_json(await ops.audit(key))})

    @bp.get("/stream")
    async def stream() -> Response:
        key = request.args.get("conversation") or None
        response = Response(_changes(ops, key, poll_seconds), content_type="text/event-stream")
        response.timeout = None  # a stream lasts as long as the page is open
        response.headers["X-Accel-Buffering"] = "no"
        return response

    @bp.post("/simulate")
    async def simulated() -> Response:
        if not access.dev:
            return _error("the simulated phone exists in dev mode only", 404)
        return _json(await simulate(ops.engine, await _body()))

    @bp.post("/simulate/call")
    async def simulated_call() -> Response:
        if not access.dev:
            return _error("the simulated phone exists in dev mode only", 404)
        webhook = request.url_root.rstrip("/") + "/twilio"  # the action URLs point back here
        return _json(await simulate_call(ops.engine, await _body(), webhook))

    return bp


async def _changes(ops: Operations, key: str | None, poll: float) -> AsyncIterator[bytes]:
    """Server-sent events: ``change`` with the new mark whenever it moves (polled from the
    store, so changes made by every process show), and a comment line as a heartbeat."""
    last: tuple[int, ...] | None = None
    quiet = 0.0
    yield b"retry: 2000\n\n"
    while True:
        mark = await ops.change_mark(key)
        if mark != last:
            last, quiet = mark, 0.0
            yield f"event: change\ndata: {json.dumps(list(mark))}\n\n".encode()
        elif quiet >= 15:
            quiet = 0.0
            yield b": still here\n\n"
        await asyncio.sleep(poll)
        quiet += poll
