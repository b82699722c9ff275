"""What the fake Twilio REST API holds and answers: messages, calls, faults, error bodies."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from bot.outbound.segments import count_segments

__all__ = ["ERRORS", "FakeCall", "FakeMessage", "Fault", "error_response", "new_sid"]

ERRORS = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated."),
    21602: (400, "Message body is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (400, "The 'From' phone number provided is not a valid message-capable number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    63016: (400, "Failed to send freeform message because you are outside the allowed window."),
    # Verify (bot.dev.fake_verify; docs/verify.md)
    60200: (400, "Invalid parameter"),
    60202: (429, "Max check attempts reached"),
    60203: (429, "Max send attempts reached"),
    60205: (400, "SMS is not supported by landline phone number"),
    60212: (429, "Too many concurrent requests for phone number"),
    60223: (400, "Delivery channel disabled"),
}
_sids = itertools.count(1)


def new_sid(prefix: str) -> str:
    return f"{prefix}{next(_sids):032x}"


@dataclass
class Fault:
    """An injected failure for the next matching create request(s)."""

    status: int = 500
    code: int | None = None
    retry_after: float | None = None
    delay: float = 0.0  # seconds to wait before answering (longer than the client's timeout)
    times: int = 1
    create_anyway: bool = False  # with a delay: the message is created although the client gave up
    foreign: bool = False  # an error body that is not Twilio's (no "code"), as a proxy answers


@dataclass
class FakeMessage:
    """One message the fake accepted."""

    sid: str
    account_sid: str
    from_: str
    to: str
    body: str
    media: list[str]
    status_callback: str | None
    content_sid: str | None
    created: datetime
    accepted_at: float  # time.monotonic() when accepted
    status: str = "queued"
    error_code: int | None = None
    history: list[str] = field(default_factory=list)
    # Every parameter of the create request as Twilio received it, in order, repeats kept
    # (``MediaUrl``), values as sent (``ContentVariables`` is a JSON string).
    params: list[tuple[str, str]] = field(default_factory=list)

    @property
    def content_variables(self) -> str | None:
        """The ``ContentVariables`` sent (a JSON string), or None."""
        return next((value for name, value in self.params if name == "ContentVariables"), None)

    def resource(self) -> dict[str, Any]:
        """The JSON Twilio answers for this message."""
        # Twilio lists a template send with its rendered text, which the sender never sees.
        body = self.body or (f"(rendered {self.content_sid})" if self.content_sid else "")
        info = count_segments(body)
        stamp = format_datetime(self.created)
        return {
            "sid": self.sid, "account_sid": self.account_sid, "from": self.from_, "to": self.to,
            "body": body, "status": self.status, "num_segments": str(info.segments or 1),
            "num_media": str(len(self.media)), "direction": "outbound-api",
            "api_version": "2010-04-01", "date_created": stamp, "date_updated": stamp,
            "date_sent": None, "price": None, "price_unit": "USD",
            "error_code": self.error_code, "error_message": None, "messaging_service_sid": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{self.sid}.json",
            "subresource_uris": {},
        }  # fmt: skip


@dataclass
class FakeCall:
    """One call the fake accepted."""

    sid: str
    from_: str
    to: str
    url: str | None
    twiml: str | None
    status_callback: str | None
    status: str = "queued"

    def resource(self, account_sid: str) -> dict[str, Any]:
        return {
            "sid": self.sid, "account_sid": account_sid, "from": self.from_, "to": self.to,
            "status": self.status, "direction": "outbound-api", "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{self.sid}.json",
        }  # fmt: skip


def error_response(
    code: int, status: int | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    http, text = ERRORS.get(code, (status or 500, "Internal error"))
    body = {
        "code": code,
        "message": text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status or http,
    }
    return web.json_response(body, status=status or http, headers=headers)
