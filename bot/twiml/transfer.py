"""``<Dial><Client>``: a call handed off to a person on a Twilio Client (Voice SDK) app.

A hand-off on a call is a transfer (``turn.handoff(..., number=)`` or ``client=``): the
caller is connected, and the ``<Dial>``'s ``action`` brings the outcome back to the flow as
a ``dial`` event. A number uses :class:`~bot.twiml.voice.Dial`; this is the client form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.twiml.render import Node
from bot.twiml.rules import TwimlError

__all__ = ["DialClient"]

_IDENTITY = re.compile(r"[A-Za-z0-9_.@-]{1,121}")


@dataclass(frozen=True, slots=True)
class DialClient:
    """``<Dial action=…><Client>identity</Client></Dial>``."""

    identity: str
    action: str
    timeout: int | None = None

    def __post_init__(self) -> None:
        if not _IDENTITY.fullmatch(self.identity):
            raise TwimlError(f"client identity {self.identity!r}: letters, digits, _ . @ - only")

    def summary(self) -> str:
        return f"client:{self.identity}"

    def node(self) -> Node:
        attrs = {"action": self.action, "method": "POST", "timeout": self.timeout}
        return Node("Dial", attrs, children=(Node("Client", {}, self.identity),))
