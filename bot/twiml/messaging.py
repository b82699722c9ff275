"""What a turn answers with: reply actions that render to TwiML nodes.

An action is a frozen dataclass with a ``node()`` method. Messaging replies are
:class:`Message`; voice verbs live in ``bot.voice``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from xml.etree import ElementTree

from bot.twiml.render import Node
from bot.twiml.voice import Redirect

__all__ = ["Action", "Message", "parse_answer"]


class Action(Protocol):
    """Anything a turn can answer with."""

    def node(self) -> Node: ...

    def summary(self) -> str:
        """What the message log records for this action (the text said or sent)."""
        ...


@dataclass(frozen=True, slots=True)
class Message:
    """A ``<Message>`` reply: text, up to ten media URLs, optional other recipient."""

    body: str
    media: tuple[str, ...] = ()
    to: str | None = None
    from_: str | None = None

    def summary(self) -> str:
        return self.body

    def node(self) -> Node:
        attrs = {"to": self.to, "from": self.from_}
        if not self.media:
            return Node("Message", attrs, self.body)
        body = [Node("Body", text=self.body)] if self.body else []
        media = [Node("Media", text=url) for url in self.media]
        return Node("Message", attrs, children=tuple(body + media))


def parse_answer(document: str) -> list[Action]:
    """The actions of a messaging answer this package rendered (a stored answer, replayed):
    ``<Message>`` and ``<Redirect>``, in order."""
    actions: list[Action] = []
    for verb in ElementTree.fromstring(document):
        if verb.tag == "Redirect":
            actions.append(Redirect(verb.text or ""))
            continue
        parts = list(verb)
        body = next((p.text or "" for p in parts if p.tag == "Body"), verb.text or "")
        media = tuple(p.text or "" for p in parts if p.tag == "Media")
        actions.append(Message(body, media, verb.get("to"), verb.get("from")))
    return actions
