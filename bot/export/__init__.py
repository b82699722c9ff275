"""Stored conversations written back out as transcripts (``switchboard export``)."""

from __future__ import annotations

from bot.export.transcript import to_transcript

__all__ = ["to_transcript"]
