"""A chat session written down as a transcript (docs/transcripts.md) that replays green.

Each turn is recorded with the lines the app really answered, in the form the transcript
runner compares (:mod:`bot.dev.replies`). Text the line format cannot hold as it is is written
so the parser reads it back exactly: a message with surrounding spaces or in brackets goes
out as ``> [text "…"]``; an answer over several lines, with surrounding spaces, or that reads
like a pattern or ``(no reply)`` is written as an escaped ``/regex/``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Recording", "reply_line", "sent_line"]

_ESCAPES = {"\n": r"\n", "\r": r"\r", "\t": r"\t"}


def sent_line(text: str) -> str:
    """The ``>`` line that sends exactly ``text``."""
    plain = text == text.strip() and not (text.startswith("[") and text.endswith("]"))
    if plain and "\n" not in text and text:
        return f"> {text}"
    return f"> [text {shlex.quote(text)}]"


def reply_line(text: str) -> str:
    """The ``<`` line that matches exactly the answer ``text``."""
    ambiguous = (
        text != text.strip()
        or any(c in text for c in _ESCAPES)
        or text == "(no reply)"
        or (len(text) >= 2 and text.startswith("/") and text.endswith("/"))
    )
    if not ambiguous:
        return f"< {text}".rstrip()
    escaped = "".join(_ESCAPES.get(c) or re.escape(c) for c in text)
    return f"< /{escaped}/"


@dataclass
class Recording:
    """The transcript of a session so far: a header, then steps in order."""

    header: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def turn(self, sent: str, answer: list[tuple[str, list[str]]]) -> None:
        """A ``>`` line (already written) and its complete answer."""
        self.lines.append(sent)
        if not answer:
            self.lines.append("< (no reply)")
        for text, media in answer:
            self.lines.append(reply_line(text))
            self.lines += [f"<+ {url}" for url in media]

    def check(self, line: str) -> None:
        """An ``=`` check (``= state menu``), true at this point of the session."""
        self.lines.append(line)

    def note(self, comment: str) -> None:
        """A ``#`` comment line (what happened that a transcript does not replay)."""
        self.lines += [f"# {part}".rstrip() for part in comment.splitlines() or [""]]

    def text(self) -> str:
        head = ["# Recorded with `switchboard chat`"]
        head += [f"{key}: {value}" for key, value in self.header.items()]
        return "\n".join([*head, "", *self.lines]) + "\n"

    def save(self, path: str) -> Path:
        """Write the transcript to ``path`` (``.transcript`` is added when missing)."""
        target = Path(path).expanduser()
        if target.suffix != ".transcript":
            target = target.with_name(target.name + ".transcript")
        if not target.parent.is_dir():
            raise OSError(f"cannot save to {target}: the folder {target.parent} does not exist")
        target.write_text(self.text(), encoding="utf-8")
        return target
