"""From and To are every form Twilio sends, and nothing else (issue 11): a '+' that arrived as
a space (``curl -d From=+1…``) or ``hello`` is a clear 400 with nothing stored."""

from __future__ import annotations

import re

import pytest

from bot.errors import BadRequest
from bot.events.addresses import address
from bot.testing import Harness
from flows import build


@pytest.mark.parametrize(
    ("raw", "voice", "kept"),
    [
        ("+15550001111", False, "+15550001111"),
        ("+1 (555) 000-1111", False, "+15550001111"),
        ("+447700900123", False, "+447700900123"),
        ("whatsapp:+14155238886", False, "whatsapp:+14155238886"),
        ("12345", False, "12345"),  # a short code
        ("client:alice", True, "client:alice"),
        ("sip:alice@example.sip.twilio.com", True, "sip:alice@example.sip.twilio.com"),
        ("anonymous", True, "anonymous"),
        ("Restricted", True, "Restricted"),
    ],
)
def test_every_form_twilio_sends_is_kept(raw: str, voice: bool, kept: str) -> None:
    assert address(raw, "From", voice=voice) == kept


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (" 15550001111", "a '+' sent unencoded"),
        ("hello", "not an address Twilio sends"),
        ("+1555", "not a possible phone number"),
        ("anonymous", "not an address Twilio sends"),  # withheld is for calls only
        ("whatsapp:hello", "not a phone number"),
    ],
)
def test_anything_else_is_refused_saying_why(raw: str, why: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(why)):
        address(raw, "From")


@pytest.mark.parametrize("sender", [" 15550001111", "hello"])
async def test_the_webhook_answers_400_and_stores_nothing(sender: str) -> None:
    async with Harness(build) as h:
        params = [
            ("MessageSid", "SM" + "a" * 32), ("AccountSid", "AC" + "0" * 32),
            ("From", sender), ("To", "+15550100000"), ("Body", "hi"),
        ]  # fmt: skip
        reply = await h.post("/twilio", params)
        assert reply.status == 400 and "From" in reply.body
        for key in (f"sms:+15550100000:{sender}", "sms:+15550100000:15550001111"):
            assert await h.store.conversation(key) is None


async def test_a_number_is_stored_as_e164_whatever_its_punctuation() -> None:
    async with Harness(build) as h:
        reply = await h.phone("+1 555 000 1111").send("hi")
        assert reply.status == 200
        assert await h.store.conversation("sms:+15550100000:+15550001111") is not None
