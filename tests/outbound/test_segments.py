"""Segment counting at every boundary (worked examples from the wire contract, §8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.outbound.segments import (
    GSM_BASIC,
    GSM_EXTENSION,
    Encoding,
    count_segments,
    estimate_cost,
    smart_encode,
)

GSM = Encoding.GSM7
UCS = Encoding.UCS2


def test_tables_have_the_gsm_03_38_sizes() -> None:
    assert len(GSM_BASIC) == 127  # 128 positions, one of them the escape to the extension table
    assert len(GSM_EXTENSION) == 10
    assert "`" not in GSM_BASIC and "ç" not in GSM_BASIC


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", GSM, 0, 0),
        ("a" * 160, GSM, 160, 1),
        ("a" * 161, GSM, 161, 2),
        ("a" * 159 + "€", GSM, 161, 2),  # € is an extension character: two septets
        ("a" * 158 + "€", GSM, 160, 1),
        ("a" * 306, GSM, 306, 2),
        ("a" * 307, GSM, 307, 3),
        ("{" * 80, GSM, 160, 1),
        ("{" * 81, GSM, 162, 2),
        # an escape pair is never split: 152 + (2) does not fit 153, so it starts segment two
        ("a" * 152 + "€" + "a" * 152, GSM, 306, 3),
        ("ê" * 70, UCS, 70, 1),
        ("ê" * 71, UCS, 71, 2),
        ("ê" * 134, UCS, 134, 2),
        ("ê" * 135, UCS, 135, 3),
        ("a" * 159 + "ê", UCS, 160, 3),  # one non-GSM character makes the whole message UCS-2
        ("👋" * 35, UCS, 70, 1),  # outside the BMP: a surrogate pair, two units
        ("👋" * 36, UCS, 72, 2),
        ("a" * 66 + "👋" + "a" * 5, UCS, 73, 2),
        ("a" * 66 + "👋" + "a" * 66, UCS, 134, 3),  # the pair does not fit unit 67: moves on
        ("Hello “quoted”", UCS, 14, 1),
    ],
)
def test_counts(text: str, encoding: Encoding, units: int, segments: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_smart_encoding_replaces_lookalikes_to_stay_in_gsm7() -> None:
    text = "It’s “fine” — really…"
    assert count_segments(text).encoding is UCS
    fixed = smart_encode(text)
    assert fixed == 'It\'s "fine" - really...'
    assert count_segments(fixed).encoding is GSM


def test_smart_encoding_leaves_real_unicode_alone() -> None:
    assert smart_encode("Grüße 👋") == "Grüße 👋"
    assert smart_encode("plain") == "plain"


def test_cost_is_price_times_segments() -> None:
    assert estimate_cost(3, Decimal("0.0079")) == Decimal("0.0237")
