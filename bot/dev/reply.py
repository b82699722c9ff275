"""What the app answered to one webhook request, where requests go, and Twilio-style ids."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Reply", "Webhook", "new_sid"]

_sids = itertools.count(1)


def new_sid(prefix: str) -> str:
    """A unique, well-formed Twilio-style sid (``SM`` + 32 hex digits)."""
    return f"{prefix}{next(_sids):032x}"


@dataclass(frozen=True)
class Reply:
    """The app's HTTP answer to one webhook request."""

    status: int
    body: str
    content_type: str

    @property
    def root(self) -> ET.Element:
        """The parsed TwiML ``<Response>``."""
        return ET.fromstring(self.body)

    @property
    def messages(self) -> list[str]:
        """The text of each ``<Message>`` in order (``<Body>`` parts joined)."""
        out = []
        for message in self.root.iter("Message"):
            bodies = message.findall("Body")
            out.append("".join(b.text or "" for b in bodies) if bodies else message.text or "")
        return out

    @property
    def media(self) -> list[list[str]]:
        """The media URLs of each ``<Message>`` in order."""
        return [[m.text or "" for m in msg.findall("Media")] for msg in self.root.iter("Message")]


class Webhook(Protocol):
    """Where a :class:`~bot.dev.harness.Phone` or a :class:`~bot.dev.call.Call` posts: the app
    in process (:class:`~bot.dev.harness.Harness`) or a running dev server
    (:class:`~bot.dev.remote.RemoteApp`). ``public_url`` is the address TwiML URLs start with."""

    @property
    def public_url(self) -> str: ...

    async def post(
        self,
        path: str,
        params: Iterable[tuple[str, str]],
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> Reply: ...
