"""Reading a Twilio request: HTTP Basic auth when configured, the body (a form, or JSON signed
with ``bodySHA256``) as a multi-dict, the public URL Twilio signed, the signature check, and
the ids checked by shape and account. Bad input is a :class:`~bot.errors.BadRequest` (4xx),
never a 500."""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import logging
from typing import Any, Literal, Protocol
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit, urlunsplit

from werkzeug.datastructures import Headers, MultiDict

from bot.errors import BadRequest, SignatureError
from bot.events.model import Params
from bot.events.sids import check_sids
from bot.settings import Settings
from bot.web.form import Form, grouped
from bot.web.signature import valid_body_hash, valid_signature

__all__ = ["Incoming", "Unauthorized", "read_form", "signed_url", "verified", "verified_params"]

log = logging.getLogger("switchboard.web")
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_MAX_FIELDS = 1000


class Incoming(Protocol):
    """What reading a webhook needs of a request: Quart's, or the ASGI fast path's
    (:mod:`bot.web.webhook`), which reads the ASGI scope by werkzeug's rules."""

    @property
    def headers(self) -> Headers: ...
    @property
    def mimetype(self) -> str: ...
    @property
    def scope(self) -> Any: ...
    @property
    def path(self) -> str: ...
    @property
    def remote_addr(self) -> str | None: ...
    @property
    def scheme(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def args(self) -> MultiDict[str, str]: ...

    async def get_data(
        self, cache: bool, as_text: Literal[False], parse_form_data: bool
    ) -> bytes: ...


class Unauthorized(BadRequest):
    """HTTP Basic credentials are required and missing or wrong: 401 with a challenge."""

    status = 401


def _form(pairs: list[tuple[str, str]]) -> Form:
    return grouped([(name, "=", value) for name, value in pairs], Form)


def _no_nul(pairs: list[tuple[str, str]]) -> Form:
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        # Twilio never sends one, and PostgreSQL cannot store one in text.
        raise BadRequest("request body contains a NUL character")
    return _form(pairs)


def _unquoted(text: str) -> str:
    text = text.replace("+", " ") if "+" in text else text
    return unquote(text, errors="strict") if "%" in text else text


def _form_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True, errors="strict")``, without its per-field
    overhead (the same pairs; ``tests/test_form_parsing.py`` checks them against it)."""
    if text.count("&") >= _MAX_FIELDS:
        raise BadRequest(f"request body has more than {_MAX_FIELDS} fields")
    pairs = []
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((_unquoted(name), _unquoted(value)))
    return pairs


def _json_pairs(body: bytes) -> list[tuple[str, str]]:
    """A JSON object's members as parameters: strings as they are, anything else as JSON."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # nesting: 64 KiB of "["
        raise BadRequest("request body is not valid UTF-8 JSON") from exc
    if not isinstance(document, dict):
        raise BadRequest("a JSON request body must be an object")
    if len(document) > _MAX_FIELDS:
        raise BadRequest(f"request body has more than {_MAX_FIELDS} fields")
    pairs = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in document.items()]
    for name, value in pairs:  # json.dumps escapes them in nested values: only these remain
        _no_surrogate(name)
        _no_surrogate(value)
    return pairs


def _no_surrogate(text: str) -> None:
    """A ``\\ud800`` escape decodes to half a surrogate pair: no UTF-8 encoder takes it, so
    the store (and the TwiML answer) would fail on it with a 500."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(
            f"the JSON body holds U+{ord(text[exc.start]):04X}, half of a surrogate pair "
            "without the other half: strings must be Unicode text"
        ) from None


def _mimetype(req: Incoming) -> str:
    content_type: str = req.headers.get("Content-Type", "")
    return _FORM if content_type == _FORM else req.mimetype  # Twilio's exact header: no parse


async def read_form(req: Incoming) -> Params:
    """The parameters as a multi-dict: 415 unless form-encoded or JSON, 400 unless valid UTF-8
    without NUL (a JSON body must also be one object)."""
    return _parsed(_mimetype(req), await _body(req))


async def _body(req: Incoming) -> bytes:
    return await req.get_data(cache=True, as_text=False, parse_form_data=False)


def _parsed(mimetype: str, body: bytes) -> Params:
    if mimetype not in {_FORM, _JSON}:
        got = mimetype or "none"
        raise BadRequest(f"Content-Type must be {_FORM} (or signed {_JSON}), got {got!r}", 415)
    if mimetype == _JSON:
        return _no_nul(_json_pairs(body))
    try:
        text = body.decode("utf-8")
        if "\x00" in text or "%00" in text:  # the only ways a NUL gets into a name or value
            return _no_nul(_form_pairs(text))
        return _form_of(text)
    except UnicodeDecodeError as exc:
        raise BadRequest("request body is not valid UTF-8") from exc


def _form_of(text: str) -> Form:
    """``_form(_form_pairs(text))`` in one pass; a body such as Twilio's (ASCII, no ``&`` or
    ``=`` escaped) is unquoted whole, once, not field by field."""
    if text.count("&") >= _MAX_FIELDS:
        raise BadRequest(f"request body has more than {_MAX_FIELDS} fields")
    quoted = "%" in text or "+" in text
    if quoted and text.isascii() and "%26" not in text and "%3D" not in text.upper():
        # An escape never spans a separator ("&" and "=" are not hex digits), and no
        # separator is escaped: the same pairs as unquoting field by field.
        text = unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
        quoted = False
    fields = [field.partition("=") for field in text.split("&") if field]
    if quoted:
        fields = [(_unquoted(name), eq, _unquoted(value)) for name, eq, value in fields]
    return grouped(fields, Form)


def _trusted(req: Incoming, settings: Settings) -> bool:
    if not settings.trusted_proxies or not req.remote_addr:
        return False
    try:
        addr = ipaddress.ip_address(req.remote_addr)
    except ValueError:
        return False
    return any(addr in net for net in settings.trusted_proxies)


def signed_url(req: Incoming, settings: Settings) -> str:
    """The URL Twilio requested: configured (or trusted forwarded) origin + raw target."""
    raw_path: bytes = req.scope.get("raw_path") or req.path.encode("utf-8")
    query: bytes = req.scope.get("query_string", b"")
    target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    if settings.public_url:
        return settings.public_url.rstrip("/") + target
    scheme, host = req.scheme, req.host
    if _trusted(req, settings):
        scheme = req.headers.get("X-Forwarded-Proto", scheme).split(",")[0].strip().lower()
        host = req.headers.get("X-Forwarded-Host", host).split(",")[0].strip()
    return f"{scheme}://{host}{target}"


def _basic_credentials(req: Incoming) -> tuple[str, str] | None:
    scheme, _, encoded = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _check_basic(req: Incoming, settings: Settings) -> tuple[str, str] | None:
    """The webhook's Basic credentials when configured (401 unless given and right)."""
    if settings.webhook_auth is None:
        return None
    given = _basic_credentials(req)
    want = settings.webhook_auth
    if given is None:
        raise Unauthorized("this webhook requires HTTP Basic credentials")
    same = [hmac.compare_digest(g.encode(), w.encode()) for g, w in zip(given, want, strict=True)]
    if not all(same):
        log.warning("rejected a webhook request with wrong HTTP Basic credentials")
        raise Unauthorized("wrong HTTP Basic credentials for this webhook")
    return given


def _with_userinfo(url: str, credentials: tuple[str, str]) -> str:
    parts = urlsplit(url)
    user, password = (quote(c, safe="") for c in credentials)
    netloc = f"{user}:{password}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


def _check_signature(
    req: Incoming, token: str, url: str, params: Params, body: bytes,
    basic: tuple[str, str] | None, mimetype: str,
) -> None:  # fmt: skip
    if mimetype == _JSON and not valid_body_hash(url, body):
        log.warning("rejected a JSON request whose bodySHA256 is missing or wrong")
        raise SignatureError("bodySHA256 is missing from the URL or does not match the body")
    signed = Form() if mimetype == _JSON else params  # JSON: the URL alone is signed
    header = req.headers.get("X-Twilio-Signature")
    if header is None:
        log.warning("rejected a request without X-Twilio-Signature for %s", _public(url))
        raise SignatureError(
            "X-Twilio-Signature is missing: only requests Twilio signed are accepted "
            "(`switchboard serve --dev` without TWILIO_AUTH_TOKEN accepts unsigned ones)"
        )
    valid = valid_signature(token, url, signed, header)
    if not valid and basic is not None and "@" not in urlsplit(url).netloc:
        # the SDKs sign the URL with its credentials
        valid = valid_signature(token, _with_userinfo(url, basic), signed, header)
    if not valid:
        log.warning("rejected a request with a bad X-Twilio-Signature for %s", _public(url))
        raise SignatureError("X-Twilio-Signature does not match this request")


def _public(url: str) -> str:
    """``url`` without credentials, for logs."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _check_account(params: Params, settings: Settings) -> None:
    account = params.get("AccountSid")
    if settings.account_sid and account and account != settings.account_sid:
        log.warning("rejected a request for another account (%s)", account)
        raise SignatureError("AccountSid is not this application's account", 403)


async def verified_params(req: Incoming, settings: Settings) -> Params:
    """The parameters, after Basic auth (when configured) and the signature (skipped only in
    dev mode without a token) checked out, with every id of the right shape and account."""
    params, _ = await verified(req, settings)
    return params


async def verified(req: Incoming, settings: Settings) -> tuple[Params, str]:
    """:func:`verified_params` and the URL Twilio signed (:func:`signed_url`), each read once."""
    basic = _check_basic(req, settings)
    mimetype = _mimetype(req)
    body = await _body(req)
    params = _parsed(mimetype, body)
    url = signed_url(req, settings)
    if settings.auth_token:
        _check_signature(req, settings.auth_token, url, params, body, basic, mimetype)
    check_sids(params)
    _check_account(params, settings)
    return params, url
