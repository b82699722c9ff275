"""The one place Switchboard talks to Twilio's REST API, with the real ``twilio`` client.

The client runs on its asynchronous HTTP client (aiohttp), so a send never blocks the event
loop. The base URL is configuration (``SWITCHBOARD_TWILIO_API_URL``, Twilio's by default), so
tests and benches point it at :mod:`bot.dev.fake_twilio`. Credentials come from the
environment: ``TWILIO_ACCOUNT_SID`` with ``TWILIO_AUTH_TOKEN``, or an API key
(``TWILIO_API_KEY_SID`` / ``TWILIO_API_KEY_SECRET``, preferred when both are set). Errors are
translated into :class:`~bot.errors.RestError` carrying Twilio's code and any ``Retry-After``;
secrets never appear in them.

Only :mod:`bot.runtime` builds a :class:`TwilioRest`, and only :mod:`bot.outbound.worker`
calls it (a test pins both), so every message that reaches Twilio has passed the
consent/window gate at send time. Twilio Verify's two calls (:meth:`TwilioRest.verify` and
:meth:`TwilioRest.verify_check`) are here too, used by :mod:`bot.outbound.verify` alone,
which screens a code by message against the consent ledger first (docs/verify.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiohttp import ClientConnectorError, ClientError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.errors import ConfigError, RestError
from bot.outbound.config import DEFAULT_API_URL, Credentials
from bot.outbound.sender import Created, Found

__all__ = ["TwilioRest"]

# The SDK logs every request and response at INFO; keep that out of an app's INFO logs.
_http_log = logging.getLogger("switchboard.rest.http")
_http_log.setLevel(logging.WARNING)
_retry_after: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "switchboard_retry_after", default=None
)
# Whether the last error answer in this task was Twilio's (a JSON body with a ``code``): the
# SDK puts the HTTP status in ``code`` when it was not (a proxy's 422, a load balancer's 502).
_twilio_code: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "switchboard_twilio_code", default=False
)


def _has_code(text: str | None) -> bool:
    try:
        body = json.loads(text or "")
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("code"), int)


class _HttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Remembers the last ``Retry-After`` seen in this task (the SDK's errors drop headers)
    and whether an error answer carried a Twilio error code."""

    async def request(self, *args: Any, **kwargs: Any) -> Response:
        response: Response = await super().request(*args, **kwargs)
        headers = response.headers or {}
        _retry_after.set(headers.get("Retry-After") if response.status_code == 429 else None)
        _twilio_code.set(response.status_code >= 400 and _has_code(response.text))
        return response


def _retry_seconds(raw: str | None) -> float | None:
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None


class TwilioRest:
    """The :class:`~bot.outbound.sender.Sender` over Twilio's REST API (Messages, Calls),
    at most ``max_concurrency`` requests at once."""

    def __init__(
        self, credentials: Credentials, *, timeout: float = 10.0, max_concurrency: int = 10,
        page_size: int = 1000, max_pages: int = 1000,
    ) -> None:  # fmt: skip
        if max_concurrency < 1:
            raise ConfigError("the REST concurrency cap must be at least 1")
        self.credentials = credentials
        self.timeout = timeout
        self.page_size, self.max_pages = page_size, max_pages
        self.concurrency = asyncio.Semaphore(max_concurrency)
        self.in_flight = 0
        self.peak_in_flight = 0
        self._http: _HttpClient | None = None
        self._client: Client | None = None

    def _get_client(self) -> Client:
        if self._client is None:
            creds = self.credentials
            self._http = _HttpClient(logger=_http_log)
            self._client = Client(
                creds.username, creds.password, creds.account_sid, http_client=self._http,
                environment={},
            )  # fmt: skip
            self._client.api.base_url = creds.api_url
            if creds.api_url != DEFAULT_API_URL:  # a fake or a proxy serves Verify too
                self._client.verify.base_url = creds.api_url
        return self._client

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = self._client = None

    async def _call(self, what: str, request: Any) -> Any:
        async with self.concurrency:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                async with asyncio.timeout(self.timeout):
                    return await request()
            except TwilioRestException as exc:
                code = exc.code if _twilio_code.get() else None
                raise RestError(
                    f"Twilio refused to {what}: {code or f'HTTP {exc.status}'} {exc.msg}",
                    code=code, status=exc.status,
                    retry_after=_retry_seconds(_retry_after.get()),
                ) from None  # fmt: skip
            except TimeoutError:
                raise RestError(
                    f"no answer from Twilio within {self.timeout:g} s ({what})", timeout=True
                ) from None
            except ClientConnectorError as exc:
                raise RestError(
                    f"cannot connect to Twilio to {what}: {type(exc).__name__}", unreached=True
                ) from None
            except (ClientError, OSError, TwilioException) as exc:
                raise RestError(f"cannot reach Twilio to {what}: {type(exc).__name__}") from None
            finally:
                self.in_flight -= 1

    async def create_message(
        self,
        *,
        to: str,
        from_: str,
        body: str = "",
        media: Sequence[str] = (),
        content_sid: str | None = None,
        content_variables: str | None = None,
        status_callback: str | None = None,
    ) -> Created:
        """Create (send) one message; :class:`RestError` if Twilio refuses or is unreachable."""
        messages = self._get_client().api.v2010.account.messages
        kwargs: dict[str, Any] = {"to": to, "from_": from_}
        if body:
            kwargs["body"] = body
        if media:
            kwargs["media_url"] = list(media)
        if content_sid:
            kwargs["content_sid"] = content_sid
            if content_variables:
                kwargs["content_variables"] = content_variables
        if status_callback:
            kwargs["status_callback"] = status_callback
        made = await self._call("create a message", lambda: messages.create_async(**kwargs))
        segments = int(made.num_segments) if str(made.num_segments or "").isdigit() else None
        return Created(str(made.sid), str(made.status), segments)

    async def sent_since(self, *, to: str, from_: str, since: datetime) -> list[Found]:
        """Every message to ``to`` from ``from_`` created at ``since`` or later, newest first.

        Pages through the list (``page_size`` a page, Twilio's order: newest first) until a
        message older than ``since`` or the last page; no date filter is sent, because a
        message still queued has no ``date_sent`` yet. At most ``max_pages`` pages.
        """
        messages = self._get_client().api.v2010.account.messages
        page = await self._call(
            "list messages",
            lambda: messages.page_async(to=to, from_=from_, page_size=self.page_size),
        )
        found: list[Found] = []
        for _ in range(self.max_pages):
            for item in page:
                created = item.date_created
                if created is not None and created < since:
                    return found
                found.append(Found(str(item.sid), item.body or "", created or since))
            page = await self._call("list messages", page.next_page_async)
            if page is None:
                return found
        raise RestError(
            f"more than {self.max_pages} pages of messages to {to} since {since:%Y-%m-%d %H:%M}"
        )

    async def create_call(
        self, *, to: str, from_: str, url: str, status_callback: str | None = None
    ) -> Created:
        """Place an outbound call whose TwiML comes from ``url``."""
        calls = self._get_client().api.v2010.account.calls
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "url": url}
        if status_callback:
            kwargs["status_callback"] = status_callback
        made = await self._call("create a call", lambda: calls.create_async(**kwargs))
        return Created(str(made.sid), str(made.status))

    async def verify(self, service: str, *, to: str, channel: str) -> str:
        """Start a verification (Twilio sends the code); returns its status (``pending``)."""
        made = self._get_client().verify.v2.services(service).verifications
        found = await self._call(
            "start a verification", lambda: made.create_async(to=to, channel=channel)
        )
        return str(found.status)

    async def verify_check(self, service: str, *, to: str, code: str) -> str:
        """Check ``code`` for ``to``: ``approved``, or ``pending`` when it was wrong."""
        checks = self._get_client().verify.v2.services(service).verification_checks
        found = await self._call(
            "check a verification", lambda: checks.create_async(to=to, code=code)
        )
        return str(found.status)
