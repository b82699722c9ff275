"""Turn a stored conversation back into a transcript, so a real conversation becomes a test."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.events.model import strip_channel
from bot.export.voice import voice_transcript_lines
from storage.records import Conversation, LogEntry, Marker

__all__ = ["to_transcript"]

_MARKERS = frozenset(Marker)


def _gap(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "+" + "".join(parts)


def to_transcript(conversation: Conversation, log: Sequence[LogEntry]) -> str:
    """A transcript replaying ``log`` (messages, with clock jumps between turns; or a call)."""
    lines = [
        f"# Exported from conversation {conversation.key}",
        f"flow: {conversation.flow}",
        f"channel: {conversation.channel}",
        f"from: {strip_channel(conversation.theirs)}",
        f"to: {strip_channel(conversation.ours)}",
    ]
    if log:
        lines.append(f"start: {log[0].at.isoformat()}")
    lines.append("")
    if conversation.channel == "voice":
        return "\n".join(lines + voice_transcript_lines(conversation, log)) + "\n"
    last_at, answered = None, True
    for entry in log:
        if entry.kind in _MARKERS:  # a migration or a lost conversation: not a message
            lines.append(f"# {entry.kind}: {entry.body}")
        elif entry.direction == "in":
            if not answered:
                lines.append("< (no reply)")
            if last_at is not None and entry.at - last_at >= timedelta(seconds=1):
                lines.append(f"@ {_gap(entry.at - last_at)}")
            last_at, answered = entry.at, False
            lines.append(f"> {entry.body}".rstrip())
            lines += [f">+ {url}" for url in entry.media]
        elif entry.kind == "refused":  # the outbound gate stopped it: it was never sent
            reason = entry.meta.get("reason", "refused")
            lines.append(f"# not sent ({reason}, to {entry.meta.get('to', '?')}): {entry.body}")
        else:
            lines.append(f"< {entry.body}".rstrip())
            lines += [f"<+ {url}" for url in entry.media]
            answered = True
    if not answered:
        lines.append("< (no reply)")
    return "\n".join(lines) + "\n"
