"""Signed webhook traffic, generated once and replayed by wrk (``bench/wrk.lua``).

Each line of a traffic file is ``<X-Twilio-Signature>\\t<form body>``: wrk cannot compute an
HMAC per request, so every request is signed here with the real ``twilio`` RequestValidator.
Messages go round-robin over the callers, so caller ``i`` sends its ``k``-th message at index
``k * callers + i`` and a caller's messages arrive in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

__all__ = ["OUR_NUMBER", "PUBLIC_URL", "TOKEN", "caller", "sms_params", "write_traffic"]

TOKEN = "bench-auth-token-0123456789abcdef"
PUBLIC_URL = "https://switchboard.bench"
OUR_NUMBER = "+15550100000"

# What a caller texts, in order: the support menu's options, a question and an order number.
SCRIPT = ("hi", "1", "Where is my parcel? It is late.", "2", "A1001", "3", "menu")


def caller(index: int) -> str:
    """The ``index``-th caller's phone number."""
    return f"+1444{index:07d}"


def sms_params(sender: str, body: str, sid: str) -> list[tuple[str, str]]:
    """The parameters Twilio posts for an inbound SMS (the shape of a real webhook)."""
    return [
        ("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", sid), ("NumMedia", "0"),
        ("ToCity", ""), ("FromZip", ""), ("SmsSid", sid), ("FromState", "CA"),
        ("SmsStatus", "received"), ("FromCity", ""), ("Body", body), ("FromCountry", "US"),
        ("To", OUR_NUMBER), ("MessagingServiceSid", "MG" + "0" * 32), ("ToZip", ""),
        ("NumSegments", "1"), ("ReferralNumMedia", "0"), ("MessageSid", sid),
        ("AccountSid", "AC" + "0" * 32), ("From", sender), ("ApiVersion", "2010-04-01"),
    ]  # fmt: skip


def sms_traffic(count: int, callers: int, first_caller: int = 0) -> Iterator[list[tuple[str, str]]]:
    """``count`` distinct inbound messages, round-robin over ``callers`` callers."""
    for n in range(count):
        who, turn = first_caller + n % callers, n // callers
        sid = f"SM{first_caller:08x}{n:024x}"
        yield sms_params(caller(who), SCRIPT[turn % len(SCRIPT)], sid)


def signed_line(path: str, params: Sequence[tuple[str, str]], validator: RequestValidator) -> str:
    """One traffic line: the signature for ``PUBLIC_URL + path``, a tab, the form body."""
    signature = validator.compute_signature(PUBLIC_URL + path, dict(params))
    return f"{signature}\t{urlencode(params)}"


def write_traffic(file: Path, path: str, requests: Iterator[list[tuple[str, str]]]) -> int:
    """Write signed ``requests`` for ``path`` to ``file``; returns the mean body size."""
    validator = RequestValidator(TOKEN)
    total = lines = 0
    with file.open("w", encoding="utf-8") as out:
        for params in requests:
            line = signed_line(path, params, validator)
            total += len(line.partition("\t")[2].encode())
            lines += 1
            out.write(line + "\n")
    return total // max(lines, 1)
