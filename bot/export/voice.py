"""A stored call as a transcript: its log entries as voice caller actions and reply lines.

Inbound entries become caller actions from what the log's ``meta`` kept (``[digits 1]``,
``[speech "billing" 0.92]``, ``[record 14 #]``, ``[dial busy 0]``, ``[status completed 3]``,
...); replies read as the runner reads them (``say: …``, ``dial: …``, ``hangup``). A redirect
back to our webhook is plumbing the runner follows, so its entries join the previous turn.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.records import Conversation, LogEntry, Marker

__all__ = ["voice_transcript_lines"]

_MARKERS = frozenset(Marker)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def caller_line(entry: LogEntry) -> str | None:
    """The ``>`` line for an inbound call event; ``None`` for a followed redirect."""
    meta, kind = entry.meta, entry.kind
    simple = {"call": "[call]", "no_input": "[silence]"}
    if kind in simple:
        return simple[kind]
    if kind == "gather":
        if "speech" in meta:
            confidence = f" {meta['confidence']}" if "confidence" in meta else ""
            return f"[speech {_quoted(meta['speech'])}{confidence}]"
        return f"[digits {meta.get('digits', '')}]"
    if kind == "recording":
        if not meta.get("recording_url"):
            return "[record 0]"
        return f"[record {meta.get('recording_duration', '1')} {meta.get('digits') or '#'}]"
    if kind == "dial":
        return f"[dial {meta.get('dial_status', '')} {meta.get('dial_duration', '0')}]"
    if kind in {"hangup", "call_progress"}:
        words = [meta.get("call_status", ""), meta.get("sequence", "")]
        return f"[status {' '.join(w for w in words if w)}]"
    if kind == "recording_status":
        return f"[recording {meta.get('recording_status', 'completed')}]"
    if kind == "transcription":
        if meta.get("transcription_status") == "failed":
            return "[transcription failed]"
        return f"[transcription {_quoted(meta.get('transcription_text', ''))}]"
    return None


def reply_lines(entry: LogEntry) -> list[str]:
    """The ``<`` lines for one logged reply verb (a gather logs its prompts one per line)."""
    kind, body = entry.kind, entry.body
    if kind == "gather":
        return body.splitlines() or ["gather"]
    if kind in {"record", "hangup"}:
        return [kind]
    if kind == "redirect":
        return []  # after a gather or record it is never reached; to us it is followed
    return [f"{kind}: {body}"]


def voice_transcript_lines(conversation: Conversation, log: Sequence[LogEntry]) -> list[str]:
    """The steps of a transcript replaying the call ``log``."""
    lines: list[str] = []
    answered = True
    for entry in log:
        if entry.kind in _MARKERS:  # a migration or a lost conversation: not a caller action
            lines.append(f"# {entry.kind}: {entry.body}")
        elif entry.direction == "in":
            action = caller_line(entry)
            if action is None:
                continue
            if not answered:
                lines.append("< (no reply)")
            lines.append(f"> {action}")
            answered = False
        elif entry.kind != "refused":
            more = reply_lines(entry)
            lines += [f"< {line}" for line in more]
            answered = answered or bool(more)
    if not answered:
        lines.append("< (no reply)")
    return lines
