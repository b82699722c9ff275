"""``X-Twilio-Signature``: the URL Twilio signed, and a lean check proven against the SDK.

``twilio.request_validator.RequestValidator.validate`` always computes two HMACs (the URL with
and without its port) and accepts either; this module accepts exactly the same set but tries
the URL as given first, so the common case costs one HMAC. ``tests/test_signature.py`` pins
the equivalence with the real ``RequestValidator`` (Twilio's documented example, ports,
repeated keys, unicode).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from werkzeug.datastructures import MultiDict

__all__ = ["compute_signature", "signature_candidates", "valid_signature"]

_DEFAULT_PORTS = {"https": 443, "http": 80}


def _payload(url: str, params: MultiDict[str, str]) -> bytes:
    parts = [url]
    for name in sorted(params.keys()):
        for value in sorted(set(params.getlist(name))):
            parts.append(name + value)
    return "".join(parts).encode("utf-8")


def compute_signature(token: str, url: str, params: MultiDict[str, str]) -> str:
    """Base64 HMAC-SHA1 of ``url`` followed by each sorted ``name+value`` pair."""
    digest = hmac.new(token.encode("utf-8"), _payload(url, params), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_candidates(url: str) -> list[str]:
    """The URL without userinfo and fragment, then the same URL with its port toggled.

    Twilio signs with the port for SMS and voice over HTTP, without it for voice over HTTPS;
    the SDK accepts both forms, and so does this.
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]  # userinfo is never signed
    if netloc.startswith("["):  # IPv6 literal
        host, _, rest = netloc.partition("]")
        host, port = host + "]", rest.removeprefix(":")
    else:
        host, _, port = netloc.partition(":")
    first = urlunsplit(
        (parts.scheme, f"{host}:{port}" if port else host, parts.path, parts.query, "")
    )
    other = host if port else f"{host}:{_DEFAULT_PORTS.get(parts.scheme, 443)}"
    return [first, urlunsplit((parts.scheme, other, parts.path, parts.query, ""))]


def valid_signature(
    token: str, url: str, params: MultiDict[str, str], signature: str | None
) -> bool:
    """Whether ``signature`` signs ``params`` for ``url`` (either port form), in constant time."""
    if not signature:
        return False
    given = signature.encode("utf-8", "replace")
    candidates: Iterable[str] = signature_candidates(url)
    return any(
        hmac.compare_digest(compute_signature(token, candidate, params).encode("ascii"), given)
        for candidate in candidates
    )
