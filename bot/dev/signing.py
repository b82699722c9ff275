"""Sign test requests exactly as Twilio does, with the real ``twilio`` RequestValidator."""

from __future__ import annotations

from collections.abc import Iterable

from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

__all__ = ["TEST_AUTH_TOKEN", "TEST_PUBLIC_URL", "sign"]

TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
TEST_PUBLIC_URL = "https://switchboard.test"


def sign(
    url: str, params: MultiDict[str, str] | Iterable[tuple[str, str]], token: str = TEST_AUTH_TOKEN
) -> str:
    """The ``X-Twilio-Signature`` Twilio would send for ``params`` posted to ``url``."""
    form = params if isinstance(params, MultiDict) else MultiDict(list(params))
    signature: str = RequestValidator(token).compute_signature(url, form)
    return signature
