"""TwiML: reply actions (``<Message>``, voice verbs) and rendering them to a document."""

from __future__ import annotations

from bot.twiml.messaging import Action, Message
from bot.twiml.render import CONTENT_TYPE, EMPTY, Node, render

__all__ = ["CONTENT_TYPE", "EMPTY", "Action", "Message", "Node", "render"]
