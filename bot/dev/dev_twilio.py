"""The fake Twilio REST API a dev server (``switchboard serve --dev``) sends to.

:class:`DevTwilio` runs a :class:`~bot.dev.fake_twilio.FakeTwilio` on its own thread and event
loop in the ``serve`` process, so it serves every worker and outlives those ``--reload``
restarts. The workers reach it through their environment (:meth:`DevTwilio.environment`): an
API key of the fake's account (so ``TWILIO_AUTH_TOKEN`` stays unset and unsigned requests are
still accepted), its URL, and the dev server's status callback URL.

Each message it accepts is logged on ``switchboard.dev`` (who, what, segments), then moves on
as Twilio's do: ``sent``, then ``delivered``, each a status callback to the app signed with the
real ``RequestValidator`` (with ``TWILIO_AUTH_TOKEN`` when one is set, so a dev server that
checks signatures accepts them), logged with the app's answer. A call is logged; nothing rings.
Its Verify API is the workers' Verify service (unless ``TWILIO_VERIFY_SERVICE_SID`` is given),
and each code it "sends" is logged, so a verification can be finished by hand.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Coroutine
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.dev.fake_resources import FakeMessage
from bot.dev.fake_twilio import FakeTwilio
from bot.dev.fake_verify import TEST_VERIFY_SERVICE_SID
from bot.dev.signing import sign
from bot.outbound.segments import count_segments

__all__ = ["DEV_ACCOUNT_SID", "DevTwilio"]

log = logging.getLogger("switchboard.dev")

# The account the dev tools (the console's phone, chat, Phone/Call) put in AccountSid.
DEV_ACCOUNT_SID = "AC" + "0" * 32
_PROGRESS = (("sent", 0.2), ("delivered", 0.6))  # (status, seconds after the one before)


class DevTwilio:
    """The fake API for a dev server at ``server_url`` (``public_url``: what it is known as,
    when configured; callbacks to it are posted to ``server_url``, signed for it)."""

    def __init__(
        self, server_url: str, *, auth_token: str | None = None, public_url: str | None = None
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.public_url = public_url.rstrip("/") if public_url else None
        self._key, self._secret = "SK" + secrets.token_hex(16), secrets.token_hex(16)
        self._token = auth_token or secrets.token_hex(16)
        self.fake = FakeTwilio(
            account_sid=DEV_ACCOUNT_SID, auth_token=self._token,
            api_keys={self._key: self._secret}, poster=self._post,
        )  # fmt: skip
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dev-twilio")
        self._thread.daemon = True
        self._session: ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _run(self, work: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    def start(self) -> str:
        """Listen on 127.0.0.1 and start moving messages on; returns the API's URL."""
        self._thread.start()
        url: str = self._run(self.fake.start())
        self._run(self._begin())
        return url

    async def _begin(self) -> None:
        self._session = ClientSession(timeout=ClientTimeout(total=15))
        self._keep(self._watch())

    def close(self) -> None:
        """Stop listening, end the loop and its thread."""
        self._run(self._end())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _end(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.fake.close()
        if self._session is not None:
            await self._session.close()

    def environment(self) -> dict[str, str]:
        """The variables that point a worker's REST client and status callbacks here."""
        env = {
            "TWILIO_ACCOUNT_SID": DEV_ACCOUNT_SID, "TWILIO_API_KEY_SID": self._key,
            "TWILIO_API_KEY_SECRET": self._secret,
            "SWITCHBOARD_TWILIO_API_URL": self.fake.base_url,
            "TWILIO_VERIFY_SERVICE_SID": TEST_VERIFY_SERVICE_SID,  # the fake's Verify too
        }  # fmt: skip
        if self.public_url is None:  # else the workers call back the public URL, as in production
            env["SWITCHBOARD_STATUS_CALLBACK_URL"] = self.server_url + "/twilio/status"
        return env

    # -- what happens to what the workers send --------------------------------------------

    def _keep(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self) -> None:
        """Notice what the fake accepted (a look every 0.1 s) and move each message on."""
        messages = calls = codes = 0
        while True:
            for message in list(self.fake.messages.values())[messages:]:
                log.info("fake Twilio accepted %s", _describe(message))
                self._keep(self._progress(message))
            for call in list(self.fake.calls.values())[calls:]:
                log.info("fake Twilio accepted call %s %s → %s (nothing rings in dev)",
                         call.sid, call.from_, call.to)  # fmt: skip
            for to, channel in self.fake.verify.sends[codes:]:  # what the person's phone shows
                log.info("fake Twilio Verify sent code %s by %s to %s",
                         self.fake.verify.code_for(to), channel, to)  # fmt: skip
            messages, calls = len(self.fake.messages), len(self.fake.calls)
            codes = len(self.fake.verify.sends)
            await asyncio.sleep(0.1)

    async def _progress(self, message: FakeMessage) -> None:
        for status, after in _PROGRESS:
            await asyncio.sleep(after)
            try:
                answer = await self.fake.callback(message.sid, status)
            except (ClientError, TimeoutError) as exc:
                log.warning("fake Twilio %s %s: the status callback failed (%s)",
                            message.sid, status, exc or type(exc).__name__)  # fmt: skip
                continue
            told = f"the app answered {answer}" if answer else "no StatusCallback: app not told"
            log.info("fake Twilio %s to %s: %s (%s)", message.sid, message.to, status, told)

    async def _post(self, url: str, params: list[tuple[str, str]]) -> int:
        """A status callback, signed for ``url``; one for the public URL goes to this server."""
        target = url
        if self.public_url and url.startswith(self.public_url):
            target = self.server_url + url[len(self.public_url) :]
        if self._session is None:
            raise RuntimeError("the dev Twilio is not started")
        headers = {"X-Twilio-Signature": sign(url, params, self._token)}
        async with self._session.post(target, data=params, headers=headers) as response:
            return response.status


def _describe(message: FakeMessage) -> str:
    """``SM… SMS +1555… → +1555…, 1 segment (GSM-7): 'Hello'``."""
    channel = "WhatsApp" if message.to.startswith("whatsapp:") else "SMS"
    body = message.body or (f"template {message.content_sid}" if message.content_sid else "")
    what = f"{channel} {message.from_} → {message.to}"
    if channel == "SMS":
        info = count_segments(body)
        what += f", {info.segments} segment{'' if info.segments == 1 else 's'} ({info.encoding})"
    media = f" + {len(message.media)} media" if message.media else ""
    return f"{message.sid} {what}: {body!r}{media}"
