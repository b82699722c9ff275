"""A fake Twilio REST API: a real HTTP server on 127.0.0.1 the real ``twilio`` client talks to.

>>> async with FakeTwilio() as fake:            # listening on http://127.0.0.1:<port>
...     rest = TwilioRest(fake.credentials(), base_url=fake.base_url)
...     fake.fail_next(status=429, code=20429, retry_after=1)
...     await fake.deliver(sid, "sent", "delivered")   # signed status callbacks

It implements what Switchboard uses: Messages create / fetch / list (To, From, DateSent>
filters; newest first, paged by ``PageSize``/``Page`` with ``next_page_uri`` as Twilio does)
and Calls create, under an optional path ``prefix`` (a proxy in front of the API), with
Basic auth by Account SID + Auth Token or API key + secret,
Twilio's error bodies (``code``, ``message``, ``more_info``, ``status``), injected faults
(HTTP 429 with ``Retry-After``, 21211, 21610, 21614, 5xx, slow answers that time a client out)
and status callbacks posted back signed with the real ``RequestValidator``, in order or
shuffled. Every accepted create is recorded with its monotonic time, so rates can be measured.

Faults for the outbound fault matrix: a create that stalls past the client's timeout and is
accepted anyway (``fail_next(delay=…, create_anyway=True)``), a proxy's non-Twilio error body
(``fail_next(status=422, foreign=True)``), the whole API down (:meth:`FakeTwilio.go_down`,
connections refused, until :meth:`FakeTwilio.come_back`), and a busy recipient with hundreds
of messages already (:meth:`FakeTwilio.seed`). ``clock`` stamps ``date_created`` (pass the
fake clock's ``now`` so lookups and attempts share one time line).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession, ClientTimeout, web
from multidict import MultiDictProxy

from bot.dev.fake_resources import (
    FakeCall,
    FakeMessage,
    Fault,
    error_response,
    new_sid,
)
from bot.dev.fake_verify import FakeVerify
from bot.dev.signing import TEST_AUTH_TOKEN, sign

__all__ = [
    "TEST_ACCOUNT_SID",
    "FakeCall",
    "FakeMessage",
    "FakeTwilio",
    "Fault",
    "Poster",
    "fake_twilio_thread",
    "rate",
]

TEST_ACCOUNT_SID = "AC" + "0" * 31 + "1"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Posts a status callback: (url, form parameters) -> the HTTP status our app answered.
Poster = Callable[[str, list[tuple[str, str]]], Awaitable[int]]


class FakeTwilio:
    """The fake REST API. Use as ``async with FakeTwilio() as fake:`` (or start/close)."""

    def __init__(
        self,
        *,
        account_sid: str = TEST_ACCOUNT_SID,
        auth_token: str = TEST_AUTH_TOKEN,
        api_keys: dict[str, str] | None = None,
        poster: Poster | None = None,
        seed: int = 0,
        clock: Callable[[], datetime] | None = None,
        prefix: str = "",
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_keys = dict(api_keys or {})
        self.poster = poster
        self.random = random.Random(seed)
        self.messages: dict[str, FakeMessage] = {}
        self.calls: dict[str, FakeCall] = {}
        self.attempts = 0  # create requests seen, failed or not
        self.faults: deque[Fault] = deque()
        self.recipient_errors: dict[str, int] = {}
        self.callbacks: list[tuple[str, str, int]] = []  # (sid, status, http answer)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.port = 0
        self.clock = clock or (lambda: datetime.now(UTC))
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.lists = 0  # list requests seen (pages)
        self._stored = asyncio.Event()
        self.verify = FakeVerify(self._credentials_ok, lambda: self.clock(), seed=seed)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: pass it as the REST base URL."""
        if not self.port:
            raise RuntimeError("the fake Twilio API is not started")
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    async def start(self) -> str:
        app = web.Application()
        prefix = self.prefix + "/2010-04-01/Accounts/{account}"
        app.router.add_post(prefix + "/Messages.json", self._create_message)
        app.router.add_get(prefix + "/Messages.json", self._list_messages)
        app.router.add_get(prefix + "/Messages/{sid}.json", self._fetch_message)
        app.router.add_post(prefix + "/Calls.json", self._create_call)
        self.verify.mount(app, self.prefix)  # Twilio Verify (bot.dev.fake_verify)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if not sockets:
            raise RuntimeError("the fake Twilio API did not bind a socket")
        self.port = int(sockets[0].getsockname()[1])
        return self.base_url

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def go_down(self) -> None:
        """Stop listening: every request is refused until :meth:`come_back`."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def come_back(self) -> None:
        """Listen again on the same port."""
        if self._runner is None:
            await self.start()

    async def __aenter__(self) -> FakeTwilio:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self.close()

    # -- test controls --------------------------------------------------------------------

    def fail_next(
        self,
        *,
        status: int = 500,
        code: int | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        times: int = 1,
        create_anyway: bool = False,
        foreign: bool = False,
    ) -> None:
        """Make the next ``times`` create requests fail (or stall ``delay`` seconds); with
        ``foreign`` the error body is not Twilio's (a proxy's or a load balancer's)."""
        fault = Fault(status, code, retry_after, delay, times, create_anyway, foreign)
        self.faults.append(fault)

    def seed(self, to: str, from_: str, count: int, body: str = "earlier {n}") -> None:
        """``count`` messages sent to ``to`` by others (a busy recipient), stamped now;
        ``{n}`` in ``body`` numbers them."""
        for n in range(count):
            self._store(from_, to, body.format(n=n), [], None, None)

    def fail_recipient(self, to: str, code: int) -> None:
        """Every create to ``to`` fails with Twilio error ``code`` (e.g. 21610, 21614)."""
        self.recipient_errors[to] = code

    def sent(self, to: str | None = None) -> list[FakeMessage]:
        """Accepted messages in order, optionally only those to ``to``."""
        return [m for m in self.messages.values() if to is None or m.to == to]

    def credentials(self) -> dict[str, str]:
        """Environment variables that point Switchboard's REST client at this fake."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "SWITCHBOARD_TWILIO_API_URL": self.base_url,
        }

    async def deliver(
        self,
        sid: str,
        *statuses: str,
        error_code: int | None = None,
        shuffle: bool = False,
        duplicate: bool = False,
    ) -> list[int]:
        """Post a signed status callback for each status (shuffled, or each twice, if asked)."""
        order = list(statuses)
        if duplicate:
            order = [s for s in order for _ in (0, 1)]
        if shuffle:
            self.random.shuffle(order)
        answers = []
        for status in order:
            failing = status in {"failed", "undelivered"}
            answers.append(await self.callback(sid, status, error_code if failing else None))
        return answers

    async def callback(self, sid: str, status: str, error_code: int | None = None) -> int:
        """Post one status callback for message ``sid``; returns our app's HTTP status."""
        message = self.messages[sid]
        message.status = status
        message.error_code = error_code
        message.history.append(status)
        if not message.status_callback:
            return 0
        params = self._status_params(message, status, error_code)
        answer = await (self.poster or self._post)(message.status_callback, params)
        self.callbacks.append((sid, status, answer))
        return answer

    def _status_params(
        self, message: FakeMessage, status: str, error_code: int | None
    ) -> list[tuple[str, str]]:
        params = [
            ("AccountSid", message.account_sid), ("ApiVersion", "2010-04-01"),
            ("From", message.from_), ("MessageSid", message.sid), ("MessageStatus", status),
            ("SmsSid", message.sid), ("SmsStatus", status), ("To", message.to),
        ]  # fmt: skip
        if error_code is not None:
            params.append(("ErrorCode", str(error_code)))
        if message.to.startswith("whatsapp:"):
            params += [("ChannelPrefix", "whatsapp"), ("ChannelInstallSid", "XE" + "0" * 32)]
            if status == "read":
                params.append(("EventType", "READ"))
        elif status in {"delivered", "undelivered"}:
            params.append(("RawDlrDoneDate", datetime.now(UTC).strftime("%y%m%d%H%M")))
        return params

    async def _post(self, url: str, params: list[tuple[str, str]]) -> int:
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=15))
        headers = {"X-Twilio-Signature": sign(url, params, self.auth_token)}
        async with self._session.post(url, data=params, headers=headers) as response:
            return response.status

    # -- HTTP handlers --------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if request.match_info["account"] != self.account_sid:
            return False
        return self._credentials_ok(user, password)

    def _credentials_ok(self, user: str, password: str) -> bool:
        if user == self.account_sid:
            return password == self.auth_token
        return self.api_keys.get(user) == password

    async def _fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self.faults.popleft()
        if fault.delay:
            await asyncio.sleep(fault.delay)
        return fault

    def _reject(self, form: MultiDictProxy[Any]) -> int | None:
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to:
            return 21604
        if not _E164.match(to.removeprefix("whatsapp:")):
            return 21211
        if not from_ and not form.get("MessagingServiceSid"):
            return 21606
        if not (form.get("Body") or form.getall("MediaUrl", []) or form.get("ContentSid")):
            return 21602
        if len(form.get("Body", "")) > 1600:
            return 21617
        return self.recipient_errors.get(to)

    async def _create_message(self, request: web.Request) -> web.StreamResponse:
        self.attempts += 1
        if not self._authorised(request):
            return error_response(20003)
        form = await request.post()
        fault = await self._fault()
        if fault is not None and fault.foreign:
            return web.json_response({"error": "bad gateway"}, status=fault.status)
        if fault is not None and not fault.create_anyway:
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else None
            code = fault.code or (20500 if fault.status >= 500 else fault.status)
            return error_response(code, fault.status, headers)
        rejected = self._reject(form)
        if rejected is not None:
            return error_response(rejected)
        content_sid = str(form["ContentSid"]) if "ContentSid" in form else None
        message = self._store(
            str(form.get("From", "")), str(form["To"]), str(form.get("Body", "")),
            [str(u) for u in form.getall("MediaUrl", [])],
            str(form["StatusCallback"]) if "StatusCallback" in form else None, content_sid,
            [(name, str(value)) for name, value in form.items()],
        )  # fmt: skip
        return web.json_response(message.resource(), status=201)

    def _store(
        self, from_: str, to: str, body: str, media: list[str], callback: str | None,
        content_sid: str | None, params: list[tuple[str, str]] | None = None,
    ) -> FakeMessage:  # fmt: skip
        message = FakeMessage(
            sid=new_sid("MM" if media else "SM"), account_sid=self.account_sid, from_=from_,
            to=to, body=body, media=media, status_callback=callback, content_sid=content_sid,
            created=self.clock().replace(microsecond=0), accepted_at=time.monotonic(),
            params=params or [],
        )  # fmt: skip
        self.messages[message.sid] = message
        self._stored.set()
        return message

    async def wait_sent(self, count: int, within: float = 10.0) -> list[FakeMessage]:
        """Wait (at most ``within`` s) until ``count`` messages are accepted: for a create
        that a fault delays past the client's timeout and accepts later."""
        async with asyncio.timeout(within):
            while len(self.messages) < count:
                self._stored.clear()
                await self._stored.wait()
        return self.sent()

    async def _fetch_message(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return error_response(20003)
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return error_response(20404)
        return web.json_response(message.resource())

    async def _list_messages(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return error_response(20003)
        query = request.query
        found = self.sent()
        if "To" in query:
            found = [m for m in found if m.to == query["To"]]
        if "From" in query:
            found = [m for m in found if m.from_ == query["From"]]
        if "DateSent>" in query:
            since = (
                parsedate_to_datetime(query["DateSent>"])
                if "," in query["DateSent>"]
                else (datetime.fromisoformat(query["DateSent>"]).replace(tzinfo=UTC))
            )
            found = [m for m in found if m.created >= since]
        self.lists += 1
        return web.json_response(self._page(request, list(reversed(found))))  # newest first

    def _page(self, request: web.Request, found: list[FakeMessage]) -> dict[str, Any]:
        """One page of ``found``, with Twilio's paging fields (URIs without our prefix)."""
        size = max(1, min(1000, int(request.query.get("PageSize", "50"))))
        number = int(request.query.get("Page", "0"))
        items = found[number * size : (number + 1) * size]
        path = request.path.removeprefix(self.prefix)
        query = {k: v for k, v in request.query.items() if k not in {"Page", "PageToken"}}

        def uri(n: int) -> str:
            return f"{path}?{urlencode({**query, 'PageSize': size, 'Page': n})}"

        more = (number + 1) * size < len(found)
        return {
            "messages": [m.resource() for m in items], "first_page_uri": uri(0),
            "next_page_uri": uri(number + 1) if more else None, "page": number,
            "page_size": size, "previous_page_uri": uri(number - 1) if number else None,
            "uri": uri(number), "start": number * size, "end": number * size + len(items),
        }  # fmt: skip

    async def _create_call(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return error_response(20003)
        form = await request.post()
        to = str(form.get("To", ""))
        if not _E164.match(to) and not to.startswith(("client:", "sip:")):
            return error_response(21211)
        text = {k: str(form[k]) for k in ("From", "Url", "Twiml", "StatusCallback") if k in form}
        call = FakeCall(
            new_sid("CA"), text.get("From", ""), to, text.get("Url"), text.get("Twiml"),
            text.get("StatusCallback"),
        )  # fmt: skip
        self.calls[call.sid] = call
        return web.json_response(call.resource(self.account_sid), status=201)


@contextmanager
def fake_twilio_thread(**kwargs: Any) -> Iterator[FakeTwilio]:
    """A fake Twilio served from its own thread and event loop (for blocking callers: CLI tests)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-twilio", daemon=True)
    thread.start()
    fake = FakeTwilio(**kwargs)
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def rate(messages: Sequence[FakeMessage]) -> float:
    """Accepted messages per second between the first and the last acceptance."""
    if len(messages) < 2:
        return 0.0
    span = messages[-1].accepted_at - messages[0].accepted_at
    return (len(messages) - 1) / span if span > 0 else float("inf")
