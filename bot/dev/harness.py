"""Run the real app in process: startup, signed requests, shutdown.

>>> async with Harness.of(flows=[MyFlow], router=Router(default="my")) as h:
...     reply = await h.phone("+15550001111").send("hi")
...     assert reply.messages == ["Hello!"]
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlencode

from quart import Quart
from quart.typing import TestAppProtocol, TestClientProtocol

from bot.clock import Clock
from bot.compliance.config import Compliance
from bot.dev.call import Call
from bot.dev.clock import FakeClock
from bot.dev.fake_twilio import FakeTwilio
from bot.dev.fake_verify import TEST_VERIFY_SERVICE_SID
from bot.dev.reply import Reply, Webhook, new_sid
from bot.dev.signing import TEST_AUTH_TOKEN, TEST_PUBLIC_URL, sign
from bot.engine.engine import Engine
from bot.events.model import Channel
from bot.flow.definition import Flow
from bot.flow.routing import Router
from bot.outbound.config import Credentials, OutboundSettings
from bot.outbound.verify_config import VerifyConfig
from bot.runtime import Runtime
from bot.settings import Settings
from bot.web.app import create_app, runtime_of
from storage.base import Store
from storage.sqlite import SQLiteStore
from storage.url import open_store

__all__ = ["AppFactory", "Harness", "Phone"]

# In tests the senders are not rate limited to Twilio's defaults (set ``outbound`` to test that).
_FAST = dict.fromkeys(
    ("long_code", "toll_free", "short_code", "whatsapp", "messaging_service"), 1e6
)


class AppFactory(Protocol):
    """Builds the app under test: ``factory(settings, store=..., clock=...)``."""

    def __call__(self, settings: Settings, *, store: Store, clock: Clock) -> Quart: ...


@dataclass
class Phone:
    """A person texting our number; every request is signed like Twilio's."""

    harness: Webhook  # the app in process (a Harness) or a running server
    number: str
    to: str
    channel: Channel = Channel.SMS
    profile_name: str = "Test Person"

    def _address(self, number: str) -> str:
        return f"whatsapp:{number}" if self.channel is Channel.WHATSAPP else number

    def message_params(
        self, body: str, media: Sequence[tuple[str, str]] = (), sid: str | None = None
    ) -> list[tuple[str, str]]:
        """The parameters Twilio posts for an inbound message."""
        sid = sid or new_sid("MM" if media else "SM")
        params = [
            ("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", sid),
            ("NumMedia", str(len(media))), ("ToCity", ""), ("FromZip", ""), ("SmsSid", sid),
            ("FromState", "CA"), ("SmsStatus", "received"), ("FromCity", ""), ("Body", body),
            ("FromCountry", "US"), ("To", self._address(self.to)), ("ToZip", ""),
            ("NumSegments", "1"), ("MessageSid", sid), ("AccountSid", "AC" + "0" * 32),
            ("From", self._address(self.number)), ("ApiVersion", "2010-04-01"),
        ]  # fmt: skip
        for i, (url, content_type) in enumerate(media):
            params += [(f"MediaUrl{i}", url), (f"MediaContentType{i}", content_type)]
        if self.channel is Channel.WHATSAPP:
            params += [("ProfileName", self.profile_name), ("WaId", self.number.lstrip("+"))]
        return params

    async def send(
        self,
        body: str = "",
        *,
        media: Sequence[tuple[str, str]] = (),
        sid: str | None = None,
        token: str | None = None,
        extra: Iterable[tuple[str, str]] = (),
    ) -> Reply:
        """Text ``body`` (with ``(url, content_type)`` media) to our number."""
        params = self.message_params(body, media, sid) + list(extra)
        headers = {"I-Twilio-Idempotency-Token": token} if token else {}
        return await self.harness.post("/twilio", params, headers=headers)


@dataclass
class Harness:
    """The app under test, started, with a fake clock and a fresh SQLite database.

    ``database_url`` runs it on another store instead (e.g. the ``postgres_schema_url``
    fixture's), migrated at start.
    """

    factory: AppFactory
    db_path: Path | None = None
    database_url: str | None = None
    clock: FakeClock = field(default_factory=FakeClock)
    public_url: str = TEST_PUBLIC_URL
    token: str = TEST_AUTH_TOKEN
    configure: Callable[[Quart], None] | None = None
    # Header ``compliance: file.json`` of a transcript: the app reads it as in production.
    compliance_file: str | None = None
    # Outbound settings; credentials and the REST URL are pointed at ``twilio``, the fake.
    outbound_settings: OutboundSettings = field(
        default_factory=lambda: OutboundSettings(
            worker=False, default_rates=_FAST, verify=VerifyConfig(TEST_VERIFY_SERVICE_SID)
        )
    )
    # The fake Twilio REST API the app sends to; one is started when not given (pass one to
    # share it between harnesses, e.g. across a restart).
    twilio: FakeTwilio | None = field(default=None, repr=False)
    # More Settings fields for the app (e.g. ``account_sid``, ``webhook_auth``).
    settings: dict[str, Any] = field(default_factory=dict)
    _own_twilio: bool = field(default=False, init=False, repr=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)
    _app: TestAppProtocol | None = field(default=None, init=False, repr=False)
    _client: TestClientProtocol | None = field(default=None, init=False, repr=False)
    app: Quart | None = field(default=None, init=False, repr=False)
    _settings: Settings | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(
        cls,
        flows: Iterable[type[Flow]],
        router: Router,
        compliance: Compliance | None = None,
        **kwargs: Any,
    ) -> Harness:
        """A harness for an app built from ``flows`` and ``router`` with ``create_app``."""
        flow_list = list(flows)

        def factory(settings: Settings, *, store: Store, clock: Clock) -> Quart:
            return create_app(
                flow_list, router, settings, store=store, clock=clock, compliance=compliance
            )

        return cls(factory, **kwargs)

    @property
    def runtime(self) -> Runtime:
        """The app's runtime: its engine, store, outbox worker and timer runner (the workers
        do not run in the background here: :meth:`drain` runs them)."""
        if self.app is None:
            raise RuntimeError("the harness is not started (use `async with harness:`)")
        return runtime_of(self.app)

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    @property
    def store(self) -> Store:
        return self.runtime.store

    async def drain(self) -> int:
        """Fire the timers due at the fake clock's time and send what the outbox holds."""
        return await self.runtime.drain()

    async def _callback(self, url: str, params: list[tuple[str, str]]) -> int:
        """The fake Twilio's status callbacks, posted to the app in process."""
        if not url.startswith(self.public_url):
            raise ValueError(f"status callback {url!r} is not under {self.public_url}")
        return (await self.post(url[len(self.public_url) :], params)).status

    def phone(self, number: str, to: str = "+15550100000", channel: Channel = Channel.SMS) -> Phone:
        """A person at ``number`` writing to our number ``to``."""
        return Phone(self, number, to, channel)

    def call(self, number: str, to: str = "+15550100000") -> Call:
        """A call from ``number`` to our number ``to``; ``await call.start()`` rings."""
        return Call(self, number, to)

    async def __aenter__(self) -> Harness:
        if self.db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="switchboard-test-")
            self.db_path = Path(self._tmp.name) / "test.db"
        if self.twilio is None:
            self.twilio = FakeTwilio(auth_token=self.token, clock=self.clock.now)
            self._own_twilio = True
            await self.twilio.start()
        self.twilio.poster = self._callback
        credentials = Credentials(
            self.twilio.account_sid, self.twilio.account_sid, self.token, self.twilio.base_url
        )
        self._settings = Settings(
            auth_token=self.token, public_url=self.public_url,
            outbound=replace(self.outbound_settings, credentials=credentials),
            compliance_file=self.compliance_file, **self.settings,
        )  # fmt: skip
        await self._start()
        return self

    async def _start(self) -> None:
        store = (
            open_store(self.database_url, auto_migrate=True)
            if self.database_url
            else SQLiteStore(self.db_path or ":memory:")
        )
        if self._settings is None:
            raise RuntimeError("the harness is not started (use `async with harness:`)")
        self.app = self.factory(self._settings, store=store, clock=self.clock)
        self.app.testing = True
        if self.configure is not None:
            self.configure(self.app)
        self._app = self.app.test_app()
        await self._app.startup()
        self._client = self._app.test_client()

    async def deploy(self, factory: AppFactory) -> None:
        """Deploy new code: stop the app and start the one ``factory`` builds, on the same
        database, clock and fake Twilio (a conversation continues on the new version of its
        flow, as after a real deploy)."""
        if self._app is None:
            raise RuntimeError("the harness is not started (use `async with harness:`)")
        await self._app.shutdown()
        self._app = self._client = None
        self.factory = factory
        await self._start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        if self._app is not None:
            await self._app.shutdown()
        if self.twilio is not None and self._own_twilio:
            await self.twilio.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    async def post(
        self,
        path: str,
        params: Iterable[tuple[str, str]],
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> Reply:
        """POST ``params`` form-encoded to ``path``, signed for the public URL."""
        if self._client is None:
            raise RuntimeError("the harness is not started (use `async with harness:`)")
        pairs = list(params)
        all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if signed:
            all_headers["X-Twilio-Signature"] = sign(self.public_url + path, pairs, self.token)
        # Encoded here, not by the test client, so repeated keys reach the app as Twilio sends them.
        encoded = urlencode(pairs).encode("ascii")
        response = await self._client.post(
            path, data=encoded, headers=all_headers, scope_base={"client": ("127.0.0.1", 40000)}
        )
        body = await response.get_data(as_text=True)
        return Reply(response.status_code, body, response.content_type or "")
