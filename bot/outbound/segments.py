"""SMS segments: exact GSM-7 / UCS-2 counting, cost estimates and look-alike replacement.

GSM 03.38: a message whose every character is in the basic table or the extension table is
sent as GSM-7 (an extension character costs two septets, escape + character); anything else
makes the whole message UCS-2, where a character outside the Basic Multilingual Plane (an
emoji) takes two 16-bit units. A single segment holds 160 septets or 70 units; a
concatenated message spends 7 septets / 3 units of each segment on its header, leaving
153 / 67. Carriers never split an escape pair or a surrogate pair across two segments, so
the count is computed by packing, not by ``ceil(n / 153)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "GSM_BASIC",
    "GSM_EXTENSION",
    "LOOKALIKES",
    "Encoding",
    "SegmentInfo",
    "count_segments",
    "estimate_cost",
    "smart_encode",
]

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[]~|€\f")

# Unicode look-alikes and their GSM-7 replacements (what Twilio's smart encoding does).
LOOKALIKES: dict[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2039": "<", "\u203a": ">",
    "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2010": "-", "\u2011": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u200b": "", "\ufeff": "", "\u2022": "-", "\u00b7": "-",
    "\u02c6": "^", "\u02dc": "~", "\u00e7": "Ç", "\u2044": "/", "\u2215": "/",
}  # fmt: skip


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


_SINGLE = {Encoding.GSM7: 160, Encoding.UCS2: 70}
_MULTI = {Encoding.GSM7: 153, Encoding.UCS2: 67}


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How a text travels as SMS: its encoding, units used and segments needed."""

    encoding: Encoding
    units: int  # septets (GSM-7) or 16-bit code units (UCS-2)
    segments: int
    characters: int


def _encoding(text: str) -> Encoding:
    for char in text:
        if char not in GSM_BASIC and char not in GSM_EXTENSION:
            return Encoding.UCS2
    return Encoding.GSM7


def _widths(text: str, encoding: Encoding) -> list[int]:
    if encoding is Encoding.GSM7:
        return [2 if char in GSM_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _pack(widths: list[int], per_segment: int) -> int:
    segments, used = 1, 0
    for width in widths:
        if used + width > per_segment:  # an escape or surrogate pair is never split
            segments, used = segments + 1, 0
        used += width
    return segments


def count_segments(text: str) -> SegmentInfo:
    """The encoding and exact segment count of ``text`` sent as one SMS."""
    encoding = _encoding(text)
    widths = _widths(text, encoding)
    units = sum(widths)
    fits = units <= _SINGLE[encoding]
    segments = (1 if text else 0) if fits else _pack(widths, _MULTI[encoding])
    return SegmentInfo(encoding, units, segments, len(text))


def smart_encode(text: str) -> str:
    """``text`` with look-alike characters (smart quotes, dashes, …) replaced to fit GSM-7."""
    if _encoding(text) is Encoding.GSM7:
        return text
    return "".join(LOOKALIKES.get(char, char) for char in text)


def estimate_cost(segments: int, price_per_segment: Decimal) -> Decimal:
    """The estimated price of ``segments`` segments."""
    return price_per_segment * segments
