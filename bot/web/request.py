"""Reading a Twilio request: the form as a multi-dict, the public URL Twilio signed, and the
signature check. Bad input is a :class:`~bot.errors.BadRequest` (4xx), never a 500."""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import parse_qsl

from quart import Request

from bot.errors import BadRequest, SignatureError
from bot.events.model import Params
from bot.settings import Settings
from bot.web.form import Form
from bot.web.signature import valid_signature

__all__ = ["read_form", "signed_url", "verified_params"]

log = logging.getLogger("switchboard.web")
_FORM = "application/x-www-form-urlencoded"
_MAX_FIELDS = 1000


async def read_form(req: Request) -> Params:
    """The form as a multi-dict: 415 unless form-encoded, 400 unless valid UTF-8 without NUL."""
    if req.mimetype != _FORM:
        raise BadRequest(f"Content-Type must be {_FORM}, got {req.mimetype or 'none'!r}", 415)
    body = await req.get_data(cache=True, as_text=False, parse_form_data=False)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, errors="strict",
            max_num_fields=_MAX_FIELDS,
        )  # fmt: skip
    except UnicodeDecodeError as exc:
        raise BadRequest("request body is not valid UTF-8") from exc
    except ValueError as exc:
        raise BadRequest(f"request body has more than {_MAX_FIELDS} fields") from exc
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        # Twilio never sends one, and PostgreSQL cannot store one in text.
        raise BadRequest("request body contains a NUL character")
    return Form(pairs)


def _trusted(req: Request, settings: Settings) -> bool:
    if not settings.trusted_proxies or not req.remote_addr:
        return False
    try:
        addr = ipaddress.ip_address(req.remote_addr)
    except ValueError:
        return False
    return any(addr in net for net in settings.trusted_proxies)


def signed_url(req: Request, settings: Settings) -> str:
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


async def verified_params(req: Request, settings: Settings) -> Params:
    """The form, after its signature checked out (skipped only in dev mode without a token)."""
    params = await read_form(req)
    if settings.auth_token:
        url = signed_url(req, settings)
        if not valid_signature(
            settings.auth_token, url, params, req.headers.get("X-Twilio-Signature")
        ):
            log.warning("rejected a request with a bad X-Twilio-Signature for %s", url)
            raise SignatureError("X-Twilio-Signature does not match this request")
    return params
