"""``POST /twilio`` and ``POST /twilio/status`` answered straight from ASGI, in front of Quart.

Quart's request machinery (a task per request and per body, the request context, routing,
before/after hooks, the response object) costs about 0.6 M CPU instructions per request,
counted by ``python -m bench --only instructions``: a third of what a bare Quart endpoint
costs in all. The webhook uses none of it, so :class:`FastWebhook` serves ``POST /twilio``
and the status callbacks itself: it reads the body (at most ``MAX_CONTENT_LENGTH``, 413
beyond; 408 after ``BODY_TIMEOUT``), reads the request from the ASGI scope (the headers,
host, scheme and query string exactly as Quart's werkzeug request reads them), runs
:func:`answer` (or :func:`status_callback`) and sends the TwiML (or 204). Every other request
(another method, health, the console, the admin API, metrics) goes to Quart, which also keeps
both routes, running the same functions. Refusals are answered and logged by :func:`refusal`,
as Quart's error handlers answer them; anything else propagates as it would from a Quart view.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, RequestTimeout
from werkzeug.http import parse_options_header
from werkzeug.sansio.utils import get_host

from bot.errors import BadRequest, RoutingError, SignatureError, StoreError
from bot.events.parse import parse_inbound
from bot.events.voice import VoiceEvent
from bot.observe.metrics import Metrics
from bot.runtime import Runtime
from bot.twiml.render import CONTENT_TYPE, EMPTY
from bot.web.deadline import Deadlines, TurnTimeout
from bot.web.form import query_args
from bot.web.request import Incoming, Unauthorized, verified, verified_params
from bot.web.status import dispatch_status

__all__ = ["FastWebhook", "Reply", "answer", "refusal", "status_callback"]

log = logging.getLogger("switchboard.web")
Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
_TEXT = "text/plain; charset=utf-8"
_PATHS = frozenset({"/twilio", "/twilio/status"})


@dataclass(frozen=True)
class Reply:
    """A refusal's answer: status, one line of text, and extra headers."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def refusal(exc: Exception, method: str, path: str) -> Reply | None:
    """The answer to a deliberate refusal (logged here), or None for anything else."""
    if isinstance(exc, BadRequest):
        if not isinstance(exc, SignatureError):  # those are logged, as warnings, where raised
            log.info("%s %s: %s", method, path, exc)
        if isinstance(exc, Unauthorized):
            # Twilio posts without credentials first and retries after this challenge.
            challenge = {"WWW-Authenticate": 'Basic realm="switchboard", charset="UTF-8"'}
            return Reply(exc.status, str(exc), challenge)
        return Reply(exc.status, str(exc))
    if isinstance(exc, RoutingError):
        log.error("%s", exc)
        return Reply(404, str(exc))
    if isinstance(exc, StoreError):
        log.error("store error: %s", exc)
        return Reply(503, "the conversation store is unavailable; try again")
    if isinstance(exc, HTTPException):  # werkzeug's (a missing key of a MultiDict: 400)
        return Reply(exc.code or 400, exc.description or exc.name)
    return None


def _status_kind(params: MultiDict[str, str]) -> str | None:
    """The status parameter of a callback posted to ``/twilio`` (a Messaging Service's or a
    ``<Record>``'s callback URL set to it), or None for an inbound message or call. An inbound
    message carries no ``MessageStatus``, or ``received``; Twilio's own tools send that."""
    status = params.get("MessageStatus")
    if status is not None and status.strip().lower() not in {"received", "receiving"}:
        return "MessageStatus"
    return next((p for p in ("RecordingStatus", "TranscriptionStatus") if p in params), None)


async def answer(runtime: Runtime, deadlines: Deadlines, req: Incoming) -> str:
    """One inbound webhook: verified, parsed, one engine step; the TwiML to answer."""
    params, url = await verified(req, runtime.settings)
    kind = _status_kind(params)
    if kind is not None:  # never an inbound message (from our own number) or a call's step
        log.info("POST /twilio: a %s callback, handled as one; its URL should end in "
                 "/twilio/status", kind)  # fmt: skip
        handled = dispatch_status(runtime.status_handlers, params, req.args)
        await deadlines.run(handled, "status callback")
        return EMPTY
    event = parse_inbound(params, req.args, url.partition("?")[0])
    token = req.headers.get("I-Twilio-Idempotency-Token")
    if isinstance(event, VoiceEvent):
        try:
            if not event.hold:  # the step's own task, waited for within budget and deadline
                return await runtime.calls.answer(event, token, deadlines.seconds)
            # a redirect back may read the store: that read keeps to the deadline too
            return await deadlines.run(runtime.calls.answer(event, token), event.sid)
        except TurnTimeout:
            return runtime.calls.holding(event)  # the caller holds; Twilio asks again
        except RoutingError as exc:  # TwiML the caller hears, never Twilio's error prompt
            return runtime.calls.unrouted(event, exc)
    return await deadlines.run(runtime.engine.handle(event, token), event.sid)


async def status_callback(runtime: Runtime, deadlines: Deadlines, req: Incoming) -> None:
    """One status callback: verified, handed to the handler for its kind."""
    params = await verified_params(req, runtime.settings)
    handled = dispatch_status(runtime.status_handlers, params, req.args)
    await deadlines.run(handled, "status callback")


class _Headers(dict[str, str]):
    """The request's headers by lower-case name, the first of a repeated one kept: what
    werkzeug's ``Headers.get`` answers, without validating every value on the way in."""

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        value = dict.get(self, key.lower(), default)
        if type is None or value is default:
            return value
        try:
            return type(value)
        except ValueError:
            return default


def _headers(scope: Scope) -> _Headers:
    headers = _Headers()
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


class _Request:
    """What :func:`answer` reads of a request (:class:`~bot.web.request.Incoming`), read from
    the ASGI scope as werkzeug's request reads it (``host``, ``mimetype`` and ``args`` by
    werkzeug's own rules, on first use), without building the rest of a werkzeug request."""

    __slots__ = ("_args", "_body", "headers", "scope")

    def __init__(self, scope: Scope, headers: _Headers, body: bytes) -> None:
        self.headers: Headers = cast(Headers, headers)
        self.scope, self._body = scope, body
        self._args: MultiDict[str, str] | None = None

    @property
    def path(self) -> str:
        return "/" + cast(str, self.scope["path"]).lstrip("/")

    @property
    def scheme(self) -> str:
        return cast(str, self.scope["scheme"])

    @property
    def remote_addr(self) -> str | None:
        client = self.scope.get("client")
        return cast(str, client[0]) if client else None

    @property
    def host(self) -> str:
        return get_host(self.scheme, self.headers.get("host"), self.scope.get("server"))

    @property
    def mimetype(self) -> str:
        return parse_options_header(self.headers.get("Content-Type", ""))[0].lower()

    @property
    def args(self) -> MultiDict[str, str]:
        """The query parameters: werkzeug's, without ``parse_qsl`` when nothing is quoted."""
        if self._args is None:
            self._args = query_args(self.scope["query_string"])
        return self._args

    async def get_data(
        self, cache: bool, as_text: Literal[False], parse_form_data: bool
    ) -> bytes:  # fmt: skip
        return self._body


class FastWebhook:
    """ASGI: ``POST /twilio`` served by :func:`answer`; everything else by ``inner``."""

    def __init__(
        self, inner: ASGIApp, runtime: Runtime, deadlines: Deadlines, *,
        max_body: int | None, body_timeout: float,
    ) -> None:  # fmt: skip
        self.inner, self.runtime, self.deadlines = inner, runtime, deadlines
        self.max_body, self.body_timeout = max_body, body_timeout
        self._too_large = (
            f"the request body is larger than {max_body} bytes "
            "(SWITCHBOARD_MAX_BODY_BYTES sets the limit)"
        )
        self.metrics: Metrics | None = runtime.observer.metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in _PATHS:
            await self.inner(scope, receive, send)
            return
        path, headers = scope["path"], _headers(scope)
        try:
            body = await self._body(headers, receive)
        except (RequestEntityTooLarge, RequestTimeout) as exc:
            log.info("POST %s: %s %s", path, exc.code, exc.description)
            text = f"{exc.description}\n".encode()
            await self._send(send, path, exc.code or 400, _TEXT, text)
            return
        if body is None:
            return  # the client went away before sending it all
        req = _Request(scope, headers, body)
        try:
            if path == "/twilio":
                twiml = await answer(self.runtime, self.deadlines, req)
            else:
                await status_callback(self.runtime, self.deadlines, req)
        except Exception as exc:
            reply = refusal(exc, "POST", path)
            if reply is None:
                raise
            text = (reply.text + "\n").encode()
            await self._send(send, path, reply.status, _TEXT, text, reply.headers)
            return
        if path == "/twilio":
            await self._send(send, path, 200, CONTENT_TYPE, twiml.encode())
        else:
            await self._send(send, path, 204, None, b"")

    async def _body(self, headers: _Headers, receive: Receive) -> bytes | None:
        """The whole body; None if the client left first (413 and 408 as Quart's)."""
        declared: str = headers.get("content-length", "")
        if (
            self.max_body is not None and declared.isascii() and declared.isdigit()
            and int(declared) > self.max_body
        ):  # fmt: skip
            raise RequestEntityTooLarge(self._too_large)
        # asyncio.timeout(body_timeout) without its object and states: one timer, which
        # cancels this task; that cancellation (and only that one) becomes the 408.
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        fired = False

        def expire() -> None:
            nonlocal fired
            fired = True
            task.cancel()

        timer = asyncio.get_running_loop().call_later(self.body_timeout, expire)
        try:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body: bytes | None = message.get("body", b"")  # all of it at once: usual
                if self.max_body is not None and len(body or b"") > self.max_body:
                    raise RequestEntityTooLarge(self._too_large)
            else:
                body = await self._read(receive, message)
        except asyncio.CancelledError:
            if fired and task.uncancel() <= cancelling:
                raise RequestTimeout() from None
            raise
        finally:
            timer.cancel()
        if fired:  # the body came in as the timer went off: as asyncio.timeout, no 408
            task.uncancel()
        return body

    async def _read(self, receive: Receive, message: Mapping[str, Any]) -> bytes | None:
        """The body from ``message`` on, in parts."""
        chunks: list[bytes] = []
        size = 0
        while True:
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if self.max_body is not None and size > self.max_body:
                raise RequestEntityTooLarge(self._too_large)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
            message = await receive()

    async def _send(
        self, send: Send, path: str, status: int, content_type: str | None, body: bytes,
        extra: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        headers = [] if content_type is None else [
            (b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())
        ]  # fmt: skip
        headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.metrics is not None:
            self.metrics.request(path, status)
