"""The Quart app: ``POST /twilio`` for every inbound event, ``POST /twilio/status`` for
callbacks, ``GET /healthz`` (ready to take a turn) and ``GET /livez`` (alive).

One request: read the form as a multi-dict (strict UTF-8, bounded size) → rebuild the public
URL Twilio signed → check ``X-Twilio-Signature`` (403) → build a typed event → one engine step
→ TwiML as ``text/xml; charset=utf-8``. Bad input is a 4xx with a one-line reason, never a 500.
The app is a thin client of a :class:`~bot.runtime.Runtime`, built once by
:func:`~bot.runtime.build_runtime`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from bot.clock import Clock
from bot.compliance.config import Compliance
from bot.errors import BadRequest, RoutingError, StoreError
from bot.flow.definition import Flow
from bot.flow.routing import Router
from bot.runtime import Runtime, build_runtime
from bot.settings import BANNER_SHOWN, Settings
from bot.twiml.render import CONTENT_TYPE
from bot.web.console import mount_console
from bot.web.deadline import Deadlines
from bot.web.dev_clock import mount_dev_clock
from bot.web.health import liveness, readiness
from bot.web.metrics import mount_metrics
from bot.web.webhook import FastWebhook, answer, refusal, status_callback
from storage.base import Store

__all__ = ["BODY_TIMEOUT_S", "create_app", "runtime_of", "web_app"]

BODY_TIMEOUT_S = 15.0  # a request body's time to arrive: 408 after (Twilio waits 15 s in all)

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
    settings = runtime.settings
    app = Quart("switchboard")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # Twilio gives up on a request after 15 s: a body still arriving then is no webhook worth a
    # connection (Quart waits 60 s: the attack run held one that long with a stalled body)
    app.config["BODY_TIMEOUT"] = BODY_TIMEOUT_S
    app.extensions["switchboard"] = runtime
    deadlines = Deadlines(settings.turn_deadline)

    @app.before_serving
    async def startup() -> None:
        if not settings.verify_signatures and not os.environ.get(BANNER_SHOWN):
            log.warning("DEV MODE: webhook signatures are NOT verified; never expose this server")
        await runtime.start()

    @app.after_serving
    async def shutdown() -> None:
        await runtime.stop()

    @app.post("/twilio")
    async def inbound() -> Response:  # FastWebhook answers these before Quart sees them
        return Response(await answer(runtime, deadlines, request), content_type=CONTENT_TYPE)

    @app.post("/twilio/status")
    async def status() -> Response:  # FastWebhook answers these before Quart sees them too
        await status_callback(runtime, deadlines, request)
        return Response(status=204)

    @app.get("/healthz")
    async def healthz() -> tuple[dict[str, object], int]:
        return await readiness(runtime)

    @app.get("/livez")
    async def livez() -> tuple[dict[str, str], int]:
        return liveness()

    mount_console(app, runtime)  # /console and /admin/api, when configured
    mount_dev_clock(app, runtime)  # /dev/clock, in dev mode only
    _errors(app)
    mount_metrics(app, runtime)  # GET /metrics and the request counter, when metrics are on
    app.asgi_app = FastWebhook(  # type: ignore[method-assign]  # Quart's ASGI middleware idiom
        app.asgi_app, runtime, deadlines, max_body=settings.max_body_bytes,
        body_timeout=app.config["BODY_TIMEOUT"],
    )  # fmt: skip
    return app


def _errors(app: Quart) -> None:
    @app.errorhandler(BadRequest)
    @app.errorhandler(RoutingError)
    @app.errorhandler(StoreError)
    async def refused(exc: Exception) -> Response:
        reply = refusal(exc, request.method, request.path)
        if reply is None:  # pragma: no cover - only those three are registered
            raise exc
        response = _text(reply.text, reply.status)
        response.headers.update(reply.headers)
        return response

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        # nothing refused without a line: 404s excepted (scanners), each says why
        if exc.code != 404:
            log.info("%s %s: %s %s", request.method, request.path, exc.code, exc.name)
        response = _text(exc.description or exc.name, exc.code or 400)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response
