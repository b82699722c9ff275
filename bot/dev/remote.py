"""A running dev server (``switchboard serve --dev``) as a :class:`~bot.dev.reply.Webhook`.

Requests go over HTTP, unsigned (a dev server without ``TWILIO_AUTH_TOKEN`` accepts them);
a :class:`~bot.dev.harness.Phone` or a :class:`~bot.dev.call.Call` drives it as they drive the
app in process. Conversations are read through the admin API, open without a token in dev.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.dev.reply import Reply

__all__ = ["RemoteApp", "RemoteError"]


class RemoteError(Exception):
    """The server could not be reached or refused; the message is one line."""


class RemoteApp:
    """The server at ``url`` (``http://127.0.0.1:8000``)."""

    def __init__(self, url: str, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"--url {url!r}: use the server's address, like http://127.0.0.1:8000")
        self.url = url.rstrip("/")
        self._timeout = ClientTimeout(total=timeout)
        self._session: ClientSession | None = None

    @property
    def public_url(self) -> str:
        return self.url

    def _client(self) -> ClientSession:
        if self._session is None:
            self._session = ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(
        self,
        path: str,
        params: Iterable[tuple[str, str]],
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,  # a dev server checks no signature: nothing to sign with
    ) -> Reply:
        """POST ``params`` form-encoded to ``path`` on the server."""
        try:
            async with self._client().post(
                self.url + path, data=list(params), headers=headers or {}
            ) as response:
                body = await response.text()
                return Reply(response.status, body, response.content_type or "")
        except (ClientError, TimeoutError, OSError) as exc:
            raise RemoteError(f"cannot reach {self.url}: {exc or type(exc).__name__}") from None

    async def reachable(self) -> None:
        """Raise :class:`RemoteError` unless the server answers its health check."""
        try:
            async with self._client().get(self.url + "/healthz") as response:
                await response.read()
        except (ClientError, TimeoutError, OSError) as exc:
            raise RemoteError(
                f"no server at {self.url} ({exc or type(exc).__name__}): start one with "
                "`switchboard serve --dev`"
            ) from None

    async def conversation(self, key: str) -> dict[str, Any] | None:
        """The conversation ``key`` as the admin API shows it; ``None`` if there is none."""
        found = await self.detail(key)
        return None if found is None else dict(found["conversation"])

    async def detail(self, key: str) -> dict[str, Any] | None:
        """The admin API's page of conversation ``key`` (conversation, outbox, timeline...)."""
        path = f"/admin/api/conversations/{quote(key, safe='')}"
        try:
            async with self._client().get(self.url + path) as response:
                if response.status == 404:
                    return None
                if response.status in {401, 403}:
                    raise RemoteError(
                        f"the server's admin API wants a console token ({response.status}): "
                        "run it with `serve --dev` and no SWITCHBOARD_CONSOLE_TOKEN"
                    )
                if response.status != 200:
                    raise RemoteError(f"the admin API answered HTTP {response.status}")
                found: dict[str, Any] = await response.json()
                return found
        except (ClientError, TimeoutError, OSError, KeyError, ValueError) as exc:
            raise RemoteError(f"cannot read {key} from {self.url}: {exc}") from None
