"""The webhook's form parser gives exactly the pairs ``urllib.parse.parse_qsl`` gives (its
oracle, with ``keep_blank_values=True, errors="strict"``), and refuses what it refuses."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import Headers
from werkzeug.sansio.request import Request as SansioRequest

from bot.errors import BadRequest
from bot.web.form import query_args
from bot.web.request import _form_pairs, _parsed

FORM = "application/x-www-form-urlencoded"
ALPHABET = st.sampled_from([*"ab=&+%;2F0x é\x00", "%20", "%2B", "%26", "%3D", "%C3%A9"])


def oracle(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=1000)


@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_same_pairs_as_parse_qsl(text: str) -> None:
    try:
        want = oracle(text)
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            _form_pairs(text)
        return
    assert _form_pairs(text) == want


@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=6))
def test_round_trips_encoded_pairs(pairs: list[tuple[str, str]]) -> None:
    assert _form_pairs(urlencode(pairs)) == oracle(urlencode(pairs))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"a=1&" * 1000, "more than 1000 fields"),
        (b"Body=%ff", "not valid UTF-8"),
        (b"Body=\xff", "not valid UTF-8"),
        (b"Body=a%00b", "NUL"),
        (b"Bo%00dy=a", "NUL"),
        (b"Body=a\x00b", "NUL"),
    ],
)
def test_refused(body: bytes, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason):
        _parsed(FORM, body)


def test_repeated_names_kept_in_order() -> None:
    form = _parsed(FORM, b"MediaUrl=b&To=%2B1&MediaUrl=a")
    assert form.getlist("MediaUrl") == ["b", "a"]
    assert form.get("To") == "+1"
    assert form.get("Missing") is None


@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_the_parsed_form_holds_the_same_pairs(text: str) -> None:
    """``_parsed`` unquotes a body whole when it can: the same pairs as field by field."""
    if "\x00" in text or "%00" in text:
        return  # refused: test_refused
    try:
        want = oracle(text)
    except UnicodeDecodeError:
        with pytest.raises(BadRequest, match="UTF-8"):
            _parsed(FORM, text.encode())
        return
    assert list(_parsed(FORM, text.encode()).items(multi=True)) == want


@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_query_args_are_werkzeugs(text: str) -> None:
    query = text.encode()
    request = SansioRequest("POST", "https", None, "", "/twilio", query, Headers(), None)
    try:
        want = list(request.args.items(multi=True))
    except UnicodeDecodeError:
        return
    assert list(query_args(query).items(multi=True)) == want
