"""The fake Twilio Verify API (v2 Verifications and VerificationCheck), mounted by
:class:`~bot.dev.fake_twilio.FakeTwilio` on the same loopback server.

It answers as Verify does (docs/verify.md cites Twilio's reference):

* ``POST /v2/Services/{sid}/Verifications`` (``To``, ``Channel`` sms/whatsapp/call): 201,
  ``status: pending``; again while one is pending re-sends the **same** code, up to
  ``max_sends`` sends (then 60203, 429). A bad number or channel: 60200 (400); a landline
  by SMS/WhatsApp: 60205 (400); a disabled channel: 60223 (400); a number marked busy:
  60212 (429).
* ``POST /v2/Services/{sid}/VerificationCheck`` (``To``, ``Code``): ``approved`` for the right
  code, ``pending`` for a wrong one, 60202 (429) after ``max_checks`` checks, 20404 (404) when
  nothing is pending (never started, approved, canceled, or expired after ``ttl``).
* ``POST /v2/Services/{sid}/Verifications/{sid}`` with ``Status=canceled``.

Tests read what was "sent" with :meth:`FakeVerify.code_for` (and :attr:`FakeVerify.sends`).
"""

from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.dev.fake_resources import error_response, new_sid

__all__ = ["TEST_VERIFY_SERVICE_SID", "FakeVerification", "FakeVerify"]

TEST_VERIFY_SERVICE_SID = "VA" + "0" * 31 + "1"  # the harness's Verify service

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CHANNELS = {"sms", "whatsapp", "call"}


@dataclass
class FakeVerification:
    """One verification: its code and how far it got."""

    sid: str
    service: str
    to: str
    channel: str
    code: str
    created: datetime
    status: str = "pending"
    sends: int = 1
    checks: int = 0
    channels: list[str] = field(default_factory=list)

    def resource(self) -> dict[str, Any]:
        return {
            "sid": self.sid, "service_sid": self.service, "to": self.to,
            "channel": self.channel, "status": self.status,
            "valid": self.status == "approved", "date_created": self.created.isoformat(),
            "send_code_attempts": [{"channel": c} for c in self.channels],
        }  # fmt: skip


class FakeVerify:
    """The Verify resources. ``authorised(user, password)`` checks Basic auth as the fake
    REST API does; ``clock`` is the fake clock's ``now`` (codes expire after ``ttl``)."""

    def __init__(
        self, authorised: Callable[[str, str], bool], clock: Callable[[], datetime],
        *, seed: int = 0,
    ) -> None:  # fmt: skip
        self.authorised, self.clock = authorised, clock
        self.random = random.Random(seed)
        self.ttl = timedelta(minutes=10)
        self.max_sends, self.max_checks = 5, 5
        self.verifications: dict[str, FakeVerification] = {}  # by sid
        self.sends: list[tuple[str, str]] = []  # (to, channel) of each code sent
        self.landlines: set[str] = set()
        self.disabled: set[str] = set()  # channels
        self.busy: set[str] = set()  # numbers answered with 60212
        self.next_codes: list[str] = []  # codes to hand out before random ones

    def mount(self, app: web.Application, prefix: str = "") -> None:
        base = prefix + "/v2/Services/{service}"
        app.router.add_post(base + "/Verifications", self._create)
        app.router.add_post(base + "/Verifications/{sid}", self._update)
        app.router.add_post(base + "/VerificationCheck", self._check)

    def code_for(self, to: str) -> str:
        """The code of ``to``'s latest verification (what the person received)."""
        found = [v for v in self.verifications.values() if v.to == to]
        if not found:
            raise LookupError(f"no verification was started for {to}")
        return found[-1].code

    def pending(self, to: str) -> FakeVerification | None:
        """``to``'s pending verification, expiring it when its ``ttl`` passed."""
        for item in reversed(self.verifications.values()):
            if item.to != to or item.status != "pending":
                continue
            if self.clock() - item.created >= self.ttl:
                item.status = "expired"
                return None
            return item
        return None

    def _new_code(self) -> str:
        return self.next_codes.pop(0) if self.next_codes else f"{self.random.randrange(10**6):06d}"

    def _auth(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return header.startswith("Basic ") and self.authorised(user, password)

    def _refused(self, to: str, channel: str) -> int | None:
        if not _E164.match(to) or channel not in _CHANNELS:
            return 60200
        if channel in self.disabled:
            return 60223
        if to in self.busy:
            return 60212
        if to in self.landlines and channel != "call":
            return 60205
        return None

    async def _create(self, request: web.Request) -> web.StreamResponse:
        if not self._auth(request):
            return error_response(20003)
        form = await request.post()
        to, channel = str(form.get("To", "")), str(form.get("Channel", ""))
        refused = self._refused(to, channel)
        if refused:
            return error_response(refused)
        found = self.pending(to)
        if found is not None:
            if found.sends >= self.max_sends:
                return error_response(60203)
            found.sends += 1
            found.channel = channel
        else:
            service = request.match_info["service"]
            code = self._new_code()
            found = FakeVerification(new_sid("VE"), service, to, channel, code, self.clock())
            self.verifications[found.sid] = found
        found.channels.append(channel)
        self.sends.append((to, channel))
        return web.json_response(found.resource(), status=201)

    async def _update(self, request: web.Request) -> web.StreamResponse:
        if not self._auth(request):
            return error_response(20003)
        form = await request.post()
        found = self.verifications.get(request.match_info["sid"])
        if found is None or found.status != "pending":
            return error_response(20404)
        if form.get("Status") not in ("canceled", "approved"):
            return error_response(60200)
        found.status = str(form["Status"])
        return web.json_response(found.resource())

    async def _check(self, request: web.Request) -> web.StreamResponse:
        if not self._auth(request):
            return error_response(20003)
        form = await request.post()
        to, code = str(form.get("To", "")), str(form.get("Code", ""))
        if not _E164.match(to) or not code:
            return error_response(60200)
        found = self.pending(to)
        if found is None:
            return error_response(20404)
        if found.checks >= self.max_checks:
            return error_response(60202)
        found.checks += 1
        if code == found.code:
            found.status = "approved"
        return web.json_response(found.resource())
