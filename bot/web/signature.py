"""``X-Twilio-Signature``: the URL Twilio signed, and a lean check proven against the SDKs.

``twilio.request_validator.RequestValidator.validate`` always computes two HMACs (the URL with
and without its port) and accepts either; this module accepts the same set but tries the URL
as given first, so the common case costs one HMAC. Beyond the SDK it also accepts the URL with
its credentials (``https://user:pass@host/…``) removed, as Twilio's docs say Twilio signs it,
while the SDKs' own vectors sign the URL with them: either form passes, as either port form
does. ``tests/test_signature_vectors.py`` carries the SDKs' vectors as data.

A JSON body is not part of the signed string: Twilio signs the URL, which carries the body's
SHA-256 as ``bodySHA256``; :func:`valid_body_hash` checks that hash against the raw body.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit, urlunsplit

from werkzeug.datastructures import MultiDict

__all__ = ["compute_signature", "signature_candidates", "valid_body_hash", "valid_signature"]

_DEFAULT_PORTS = {"https": 443, "http": 80}


def _pairs(params: MultiDict[str, str]) -> str:
    """Each name followed by its value, names sorted, a repeated name's values de-duplicated
    and sorted: what Twilio appends to the URL."""
    parts = []
    lists: dict[str, list[str]] = params  # type: ignore[assignment]  # a MultiDict holds lists
    for name, values in sorted(dict.items(lists)):  # names are unique: lists never compared
        if len(values) == 1:
            parts.append(name + values[0])
        else:
            parts.extend(name + value for value in sorted(set(values)))
    return "".join(parts)


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA1 keyed with ``key`` and fed nothing yet: copying it skips the key setup."""
    return hmac.new(key, digestmod="sha1")


def _sign(key: bytes, url: str, pairs: str) -> bytes:
    mac = _keyed(key).copy()
    mac.update((url + pairs).encode("utf-8"))
    return base64.b64encode(mac.digest())


def compute_signature(token: str, url: str, params: MultiDict[str, str]) -> str:
    """Base64 HMAC-SHA1 of ``url`` followed by each sorted ``name+value`` pair."""
    return _sign(token.encode("utf-8"), url, _pairs(params)).decode("ascii")


def _port_forms(scheme: str, userinfo: str, hostport: str) -> Iterator[str]:
    """The netloc as given, then with its port toggled (added when absent, else dropped)."""
    if hostport.startswith("["):  # IPv6 literal
        host, _, rest = hostport.partition("]")
        host, port = host + "]", rest.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    yield userinfo + (f"{host}:{port}" if port else host)
    yield userinfo + (host if port else f"{host}:{_DEFAULT_PORTS.get(scheme, 443)}")


@functools.lru_cache(maxsize=1024)
def _candidates(url: str) -> tuple[str, ...]:
    return tuple(signature_candidates(url))


def signature_candidates(url: str) -> list[str]:
    """The URLs Twilio may have signed for ``url``, most likely first; never a fragment.

    Twilio signs with the port for SMS and voice over HTTP, without it for voice over HTTPS;
    the SDKs accept both forms, and so does this. A URL with credentials is also tried
    without them (Twilio's docs say they are dropped before signing).
    """
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    forms = list(_port_forms(parts.scheme, userinfo + at, hostport))
    if at:
        forms += _port_forms(parts.scheme, "", hostport)
    return [urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")) for netloc in forms]


def valid_signature(
    token: str, url: str, params: MultiDict[str, str], signature: str | None
) -> bool:
    """Whether ``signature`` signs ``params`` for ``url`` (any candidate form), in constant time."""
    if not signature:
        return False
    given = signature.encode("utf-8", "replace")
    key, pairs = token.encode("utf-8"), _pairs(params)
    # The candidates of a URL are cached: a webhook's URL repeats (voice: per step and verb).
    return any(hmac.compare_digest(_sign(key, form, pairs), given) for form in _candidates(url))


def valid_body_hash(url: str, body: bytes) -> bool:
    """Whether ``url`` carries exactly one ``bodySHA256`` and it is the SHA-256 of ``body``.

    Never skipped: a JSON request whose URL lacks the hash is not a signed JSON request.
    """
    values = parse_qs(urlsplit(url).query, keep_blank_values=True).get("bodySHA256", [])
    if len(values) != 1:
        return False
    digest = hashlib.sha256(body).hexdigest()
    return hmac.compare_digest(digest.encode("ascii"), values[0].lower().encode("utf-8", "replace"))
