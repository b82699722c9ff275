"""The Quart app: ``POST /twilio`` for every inbound event, ``GET /healthz``.

One request: read the form as a multi-dict (strict UTF-8, bounded size) → rebuild the public
URL Twilio signed → check ``X-Twilio-Signature`` (403) → build a typed event → one engine step
→ TwiML as ``text/xml; charset=utf-8``. Bad input is a 4xx with a one-line reason, never a 500.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from urllib.parse import parse_qsl

from quart import Quart, Request, Response, request
from werkzeug.exceptions import HTTPException

import bot.voice.callbacks  # noqa: F401  (registers the voice status handlers)
from bot.clock import Clock
from bot.compliance.config import Compliance
from bot.engine.engine import Engine
from bot.errors import BadRequest, ConfigError, RoutingError, SignatureError, StoreError
from bot.events.model import Params
from bot.events.parse import parse_inbound
from bot.events.voice import VoiceEvent
from bot.flow.definition import Flow, compile_flow
from bot.flow.routing import Router
from bot.outbound.app import attach_outbound
from bot.settings import Settings
from bot.twiml.render import CONTENT_TYPE
from bot.voice.answer import CallAnswerer
from bot.web.form import Form
from bot.web.signature import valid_signature
from bot.web.status import dispatch_status
from storage.base import Store
from storage.url import open_store

__all__ = ["create_app", "engine_of", "read_form", "signed_url"]

log = logging.getLogger("switchboard.web")
_FORM = "application/x-www-form-urlencoded"
_MAX_FIELDS = 1000


def engine_of(app: Quart) -> Engine:
    """The engine serving ``app``."""
    engine: Engine = app.extensions["switchboard"]
    return engine


async def read_form(req: Request) -> Params:
    """The form as a multi-dict: 415 unless form-encoded, 400 unless valid UTF-8 without NUL."""
    if req.mimetype != _FORM:
        raise BadRequest(f"Content-Type must be {_FORM}, got {req.mimetype or 'none'!r}", 415)
    body = await req.get_data(cache=True, as_text=False, parse_form_data=False)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, errors="strict",
            max_num_fields=_MAX_FIELDS,
        )  # fmt: skip
    except UnicodeDecodeError as exc:
        raise BadRequest("request body is not valid UTF-8") from exc
    except ValueError as exc:
        raise BadRequest(f"request body has more than {_MAX_FIELDS} fields") from exc
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        # Twilio never sends one, and PostgreSQL cannot store one in text.
        raise BadRequest("request body contains a NUL character")
    return Form(pairs)


def _trusted(req: Request, settings: Settings) -> bool:
    if not settings.trusted_proxies or not req.remote_addr:
        return False
    try:
        addr = ipaddress.ip_address(req.remote_addr)
    except ValueError:
        return False
    return any(addr in net for net in settings.trusted_proxies)


def signed_url(req: Request, settings: Settings) -> str:
    """The URL Twilio requested: configured (or trusted forwarded) origin + raw target."""
    raw_path: bytes = req.scope.get("raw_path") or req.path.encode("utf-8")
    query: bytes = req.scope.get("query_string", b"")
    target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    if settings.public_url:
        return settings.public_url.rstrip("/") + target
    scheme, host = req.scheme, req.host
    if _trusted(req, settings):
        scheme = req.headers.get("X-Forwarded-Proto", scheme).split(",")[0].strip().lower()
        host = req.headers.get("X-Forwarded-Host", host).split(",")[0].strip()
    return f"{scheme}://{host}{target}"


async def verified_params(req: Request, settings: Settings) -> Params:
    """The form, after its signature checked out (skipped only in dev mode without a token)."""
    params = await read_form(req)
    if settings.auth_token:
        url = signed_url(req, settings)
        if not valid_signature(
            settings.auth_token, url, params, req.headers.get("X-Twilio-Signature")
        ):
            log.warning("rejected a request with a bad X-Twilio-Signature for %s", url)
            raise SignatureError("X-Twilio-Signature does not match this request")
    return params


def _compliance(settings: Settings) -> Compliance:
    if settings.compliance_file:
        return Compliance.from_file(settings.compliance_file)
    return Compliance()


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
    """A Quart app serving ``flows`` as routed by ``router``.

    Flows are compiled and validated here, so a broken flow stops the app before it serves.
    ``store`` defaults to the one ``settings.database_url`` names; it is opened at startup.
    ``compliance`` holds consent keywords, texts and WhatsApp templates (defaults work as
    they are; see docs/compliance.md); without it, ``settings.compliance_file`` is read.
    """
    compiled = {flow.name: compile_flow(flow) for flow in flows}
    missing = router.flow_names() - compiled.keys()
    if missing:
        raise ConfigError(f"the router names flows that are not registered: {sorted(missing)}")
    app = Quart("switchboard")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    engine = Engine(
        store or open_store(settings.database_url), compiled, router, apology=settings.apology,
        compliance=compliance or _compliance(settings),
    )  # fmt: skip
    if clock is not None:
        engine.clock = clock
    app.extensions["switchboard"] = engine
    voice = CallAnswerer(engine, settings.voice_budget, settings.voice_hold_prompt)
    app.extensions["switchboard.voice"] = voice
    outbound = attach_outbound(app, engine, settings)
    app.extensions["switchboard.settings"] = settings

    @app.before_serving
    async def startup() -> None:
        if not settings.verify_signatures:
            log.warning("DEV MODE: webhook signatures are NOT verified; never expose this server")
        await engine.store.open()
        outbound.start()

    @app.after_serving
    async def shutdown() -> None:
        await voice.drain()
        await outbound.stop()
        await engine.store.close()

    @app.post("/twilio")
    async def inbound() -> Response:
        params = await verified_params(request, settings)
        webhook = signed_url(request, settings).partition("?")[0]
        event = parse_inbound(params, request.args, webhook)
        token = request.headers.get("I-Twilio-Idempotency-Token")
        if isinstance(event, VoiceEvent):
            twiml = await voice.answer(event, token)
        else:
            twiml = await engine.handle(event, token)
        return Response(twiml, content_type=CONTENT_TYPE)

    @app.post("/twilio/status")
    async def status() -> Response:
        await dispatch_status(engine, await verified_params(request, settings))
        return Response(status=204)

    @app.get("/healthz")
    async def healthz() -> tuple[dict[str, str], int]:
        if await engine.store.ping():
            return {"status": "ok", "store": "reachable"}, 200
        return {"status": "unavailable", "store": "unreachable"}, 503

    _errors(app)
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
