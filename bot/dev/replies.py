"""How an answer reads, one line per message or voice verb: the transcript's ``<`` lines.

``switchboard chat`` prints answers this way and the transcript runner compares them this
way, so a chat session saved as a transcript replays line for line (docs/transcripts.md):
a ``<Message>`` reads as its text; what a caller goes through reads ``say: …``,
``play: <url>``, ``pause: 2s``, ``dial: <number>``, ``record``, ``hangup``, ``reject: busy``,
``redirect: <url>``; a ``<Gather>`` reads as its prompts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from bot.dev.reply import Reply

__all__ = ["REPLY_LINES", "reply_lines"]

# How each top-level TwiML verb reads; the transcript runner's tooling adds its own.
REPLY_LINES: dict[str, Callable[[ET.Element], list[str]]] = {}


def _describe(element: ET.Element) -> list[str]:
    describe = REPLY_LINES.get(element.tag)
    return describe(element) if describe else [f"{element.tag.lower()}: {element.text or ''}"]


def reply_lines(reply: Reply) -> list[tuple[str, list[str]]]:
    """Each reply line (text) with its media URLs, as a transcript writes them."""
    if not reply.body.strip():
        return []
    lines: list[tuple[str, list[str]]] = []
    for element in reply.root:
        media = [m.text or "" for m in element.findall("Media")]
        lines += [(text, media if i == 0 else []) for i, text in enumerate(_describe(element))]
    return lines


def _message_lines(element: ET.Element) -> list[str]:
    bodies = element.findall("Body")
    return ["".join(b.text or "" for b in bodies) if bodies else element.text or ""]


def _prompt_lines(element: ET.Element) -> list[str]:
    lines = [line for child in element for line in _describe(child)]
    return lines or ["gather"]


REPLY_LINES.update(
    Message=_message_lines,
    Say=lambda e: [f"say: {e.text or ''}"],
    Play=lambda e: [f"play: {e.text or ''}"],
    Pause=lambda e: [f"pause: {e.get('length', '1')}s"],
    Gather=_prompt_lines,
    Record=lambda e: ["record"],
    Dial=lambda e: [f"dial: {(e.text or '').strip()}"],
    Hangup=lambda e: ["hangup"],
    Reject=lambda e: [f"reject: {e.get('reason', 'rejected')}"],
    Redirect=lambda e: [f"redirect: {e.text or ''}"],
)
