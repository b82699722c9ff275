"""The Quart app: ``POST /twilio`` for every inbound event, ``POST /twilio/status`` for
callbacks, ``GET /healthz``.

One request: read the form as a multi-dict (strict UTF-8, bounded size) → rebuild the public
URL Twilio signed → check ``X-Twilio-Signature`` (403) → build a typed event → one engine step
→ TwiML as ``text/xml; charset=utf-8``. Bad input is a 4xx with a one-line reason, never a 500.
The app is a thin client of a :class:`~bot.runtime.Runtime`, built once by
:func:`~bot.runtime.build_runtime`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException

from bot.clock import Clock
from bot.compliance.config import Compliance
from bot.errors import BadRequest, RoutingError, StoreError
from bot.events.parse import parse_inbound
from bot.events.voice import VoiceEvent
from bot.flow.definition import Flow
from bot.flow.routing import Router
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.twiml.render import CONTENT_TYPE
from bot.web.console import mount_console
from bot.web.metrics import mount_metrics
from bot.web.request import signed_url, verified_params
from bot.web.status import dispatch_status
from storage.base import Store

__all__ = ["create_app", "runtime_of", "web_app"]

log = logging.getLogger("switchboard.web")


def runtime_of(app: Quart) -> Runtime:
    """The runtime ``app`` serves."""
    runtime: Runtime = app.extensions["switchboard"]
    return runtime


def _text(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def create_app(
    flows: Iterable[type[Flow]],
    router: Router,
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    compliance: Compliance | None = None,
) -> Quart:
    """A Quart app serving ``flows`` as routed by ``router`` (see :func:`build_runtime`).

    Flows are compiled and validated here, so a broken flow stops the app before it serves.
    ``store`` defaults to the one ``settings.database_url`` names; it is opened at startup.
    ``compliance`` holds consent keywords, texts and WhatsApp templates (defaults work as
    they are; see docs/compliance.md); without it, ``settings.compliance_file`` is read.
    """
    runtime = build_runtime(
        flows, router, settings, store=store, clock=clock, compliance=compliance
    )
    return web_app(runtime)


def web_app(runtime: Runtime) -> Quart:
    """The Quart app for an already built ``runtime``; it starts and stops with the app."""
    settings, engine = runtime.settings, runtime.engine
    app = Quart("switchboard")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["switchboard"] = runtime

    @app.before_serving
    async def startup() -> None:
        if not settings.verify_signatures:
            log.warning("DEV MODE: webhook signatures are NOT verified; never expose this server")
        await runtime.start()

    @app.after_serving
    async def shutdown() -> None:
        await runtime.stop()

    @app.post("/twilio")
    async def inbound() -> Response:
        params = await verified_params(request, settings)
        webhook = signed_url(request, settings).partition("?")[0]
        event = parse_inbound(params, request.args, webhook)
        token = request.headers.get("I-Twilio-Idempotency-Token")
        if isinstance(event, VoiceEvent):
            twiml = await runtime.calls.answer(event, token)
        else:
            twiml = await engine.handle(event, token)
        return Response(twiml, content_type=CONTENT_TYPE)

    @app.post("/twilio/status")
    async def status() -> Response:
        params = await verified_params(request, settings)
        await dispatch_status(runtime.status_handlers, params, request.args)
        return Response(status=204)

    @app.get("/healthz")
    async def healthz() -> tuple[dict[str, str], int]:
        if await runtime.store.ping():
            return {"status": "ok", "store": "reachable"}, 200
        return {"status": "unavailable", "store": "unreachable"}, 503

    mount_console(app, runtime)  # /console and /admin/api, when configured
    _errors(app)
    mount_metrics(app, runtime)  # GET /metrics and the request counter, when metrics are on
    return app


def _errors(app: Quart) -> None:
    @app.errorhandler(BadRequest)
    async def bad_request(exc: BadRequest) -> Response:
        log.info("%s %s: %s", request.method, request.path, exc)
        return _text(str(exc), exc.status)

    @app.errorhandler(RoutingError)
    async def unrouted(exc: RoutingError) -> Response:
        log.error("%s", exc)
        return _text(str(exc), 404)

    @app.errorhandler(StoreError)
    async def store_down(exc: StoreError) -> Response:
        log.error("store error: %s", exc)
        return _text("the conversation store is unavailable; try again", 503)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        return _text(exc.description or exc.name, exc.code or 400)
