"""The lean signature check accepts exactly what twilio's RequestValidator accepts."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from bot.web.signature import compute_signature, signature_candidates, valid_signature

DOC_URL = "https://example.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = MultiDict(
    [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675310"),
        ("Digits", "1234"),
        ("From", "+14158675310"),
        ("To", "+18005551212"),
    ]
)


def test_twilio_documented_example() -> None:
    assert compute_signature("12345", DOC_URL, DOC_PARAMS) == "L/OH5YylLD5NRKLltdqwSvS0BnU="
    assert valid_signature("12345", DOC_URL, DOC_PARAMS, "L/OH5YylLD5NRKLltdqwSvS0BnU=")


@pytest.mark.parametrize(
    "signed_url, received_url",
    [
        ("https://example.com/x", "https://example.com/x"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com/x", "https://example.com:443/x"),
        ("https://example.com:8443/x?a=1", "https://example.com:8443/x?a=1"),
        ("https://example.com/x?a=1", "https://example.com:8443/x?a=1"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("https://Hooks.Example.com/x", "https://Hooks.Example.com/x"),
    ],
)
def test_port_forms_agree_with_request_validator(signed_url: str, received_url: str) -> None:
    params = MultiDict([("Body", "hi"), ("From", "+15550001111")])
    signature = RequestValidator("tok").compute_signature(signed_url, params)
    ours = valid_signature("tok", received_url, params, signature)
    theirs = RequestValidator("tok").validate(received_url, params, signature)
    assert ours == theirs


def test_wrong_port_or_host_or_scheme_fails_like_the_sdk() -> None:
    params = MultiDict([("Body", "hi")])
    signature = RequestValidator("tok").compute_signature("https://example.com:8443/x", params)
    for url in ("https://example.com:9443/x", "http://example.com:8443/x", "https://other.com/x"):
        assert not valid_signature("tok", url, params, signature)
        assert not RequestValidator("tok").validate(url, params, signature)


def test_repeated_keys_are_sorted_and_deduplicated_as_the_sdk_does() -> None:
    params = MultiDict([("b", "2"), ("a", "z"), ("a", "y"), ("a", "z"), ("B", "1")])
    expected = RequestValidator("tok").compute_signature("https://h/x", params)
    assert compute_signature("tok", "https://h/x", params) == expected
    assert valid_signature("tok", "https://h/x", params, expected)


def test_repeated_keys_lost_by_a_plain_dict_fail() -> None:
    params = MultiDict([("a", "1"), ("a", "2")])
    signature = RequestValidator("tok").compute_signature("https://h/x", params)
    assert not valid_signature("tok", "https://h/x", MultiDict({"a": "1"}), signature)


def test_unicode_values_are_signed_decoded() -> None:
    params = MultiDict([("Body", "Héllo 👋 café"), ("ProfileName", "Zoë")])
    signature = RequestValidator("tok").compute_signature("https://h/x?note=a%20b", params)
    assert valid_signature("tok", "https://h/x?note=a%20b", params, signature)
    assert not valid_signature("tok", "https://h/x?note=a+b", params, signature)


def test_userinfo_and_fragment_are_not_signed() -> None:
    params = MultiDict([("Body", "x")])
    signature = RequestValidator("tok").compute_signature("https://h:8443/x", params)
    assert valid_signature("tok", "https://user:pass@h:8443/x#rc=2", params, signature)


def test_candidates_try_the_url_as_given_first() -> None:
    assert signature_candidates("https://h/x?q=1") == ["https://h/x?q=1", "https://h:443/x?q=1"]
    assert signature_candidates("https://[::1]:8443/x") == [
        "https://[::1]:8443/x",
        "https://[::1]/x",
    ]


@pytest.mark.parametrize(
    "signature", [None, "", "not base64 at all", "L/OH5YylLD5NRKLltdqwSvS0BnU"]
)
def test_missing_or_malformed_signature_is_rejected(signature: str | None) -> None:
    assert not valid_signature("12345", DOC_URL, DOC_PARAMS, signature)


def test_wrong_token_is_rejected() -> None:
    assert not valid_signature("54321", DOC_URL, DOC_PARAMS, "L/OH5YylLD5NRKLltdqwSvS0BnU=")
