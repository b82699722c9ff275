"""Transfers: a call handed off to a person (``turn.handoff`` on a call).

``<Dial><Client>`` connects a Twilio Client (Voice SDK) app, its ``action`` bringing the
outcome back as a ``dial`` event (a number uses :class:`~bot.twiml.voice.Dial`);
``<Enqueue>`` puts the caller in a named queue (Twilio's hold music meanwhile) until an agent
dequeues them, its ``action`` bringing the outcome back as a ``queue`` event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.twiml.render import Node
from bot.twiml.rules import TwimlError

__all__ = ["DialClient", "Enqueue"]

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


@dataclass(frozen=True, slots=True)
class Enqueue:
    """``<Enqueue action=…>queue</Enqueue>``."""

    queue: str
    action: str

    def __post_init__(self) -> None:
        if not _IDENTITY.fullmatch(self.queue):
            raise TwimlError(f"queue name {self.queue!r}: letters, digits, _ . @ - only")

    def summary(self) -> str:
        return f"queue:{self.queue}"

    def node(self) -> Node:
        return Node("Enqueue", {"action": self.action, "method": "POST"}, self.queue)
