"""The Twilio wire conformance pass (2026-11-24): each test is named after what it found.

Requests are signed with the real ``twilio`` ``RequestValidator`` (``bot.testing.sign``), and
answers are read with an XML parser, as Twilio reads them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from urllib.parse import urlencode

import pytest
from quart import Quart
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from bot.testing import TEST_AUTH_TOKEN, TEST_PUBLIC_URL, Harness, sign
from flows import build

KEY = "sms:+15550100000:+15550001111"


async def _json(h: Harness, document: dict[str, str]) -> tuple[int, str]:
    """POST ``document`` as a JSON webhook, signed as Twilio signs one (``bodySHA256``)."""
    body = json.dumps(document).encode()
    path = "/twilio?bodySHA256=" + hashlib.sha256(body).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Twilio-Signature": sign(TEST_PUBLIC_URL + path, []),
    }
    app: Quart = h.app  # type: ignore[assignment]
    response = await app.test_client().post(path, data=body, headers=headers)
    return response.status_code, await response.get_data(as_text=True)


async def test_a_json_webhook_holding_a_lone_surrogate_is_400_not_500(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """``"\\ud800"`` is valid JSON but decodes to half a surrogate pair, which no UTF-8
    encoder takes: storing the message raised ``UnicodeEncodeError`` (a 500 and a
    traceback). It is now refused before anything is written."""
    document = dict(harness.phone("+15550001111").message_params("hi"))
    document["Body"] = "\ud800 hi"
    with caplog.at_level(logging.INFO, logger="switchboard.web"):
        status, text = await _json(harness, document)
    assert status == 400 and "surrogate" in text
    assert "surrogate" in caplog.text
    assert await harness.store.conversation(KEY) is None
    document["Body"] = "hi"
    document["X\udfff"] = "a name holding one"
    assert (await _json(harness, document))[0] == 400


@pytest.mark.parametrize(
    "spelled, word",
    [("+266696687", "anonymous"), ("+7378742833", "restricted"), ("+2562533", "blocked"),
     ("+8656696", "unknown"), ("+86282452253", "unavailable")],
)  # fmt: skip
async def test_a_withheld_caller_id_spelled_on_a_keypad_is_answered(
    harness: Harness, spelled: str, word: str
) -> None:
    """Twilio's voice has sent a withheld caller ID as the word spelled on a keypad
    (+266696687 is ANONYMOUS; its changelog of 16 Nov 2022 says it "translates the alpha
    string into digits"): most are not possible numbers, so the call was a 400 and the
    caller heard Twilio's application error. They are now the word, as the word is."""
    call = harness.call(spelled)
    reply = await call.start()
    assert reply.status == 200 and reply.root.find("Gather") is not None
    conversation = await harness.store.conversation(f"voice:{call.sid}")
    assert conversation is not None and conversation.theirs == word


async def test_two_withheld_callers_are_not_one_person(harness: Harness) -> None:
    """A call's ``turn.history`` holds the caller's earlier calls; +266696687 is everyone
    who withholds their number, so it must not link them (as ``anonymous`` does not)."""
    first = harness.call("+266696687")
    await first.start()
    await first.hangup()
    second = harness.call("+266696687")
    reply = await second.start()
    say = reply.root.find("Gather/Say")
    assert say is not None and "Welcome back" not in (say.text or "")


@pytest.mark.parametrize("status", ["received", "receiving", "partially_delivered"])
async def test_a_status_callback_that_changes_nothing_says_so_in_a_log_line(
    harness: Harness, caplog: pytest.LogCaptureFixture, status: str
) -> None:
    """Twilio's Message status enum holds ``received``, ``receiving`` and
    ``partially_delivered``; such a callback was answered 204 without a word."""
    params = [("MessageSid", "SM" + "1" * 32), ("MessageStatus", status)]
    with caplog.at_level(logging.INFO, logger="switchboard.status"):
        assert (await harness.post("/twilio/status", params)).status == 204
    assert f"ignored status {status} for SM{'1' * 32}" in caplog.text


def _delivery_report(status: str) -> list[tuple[str, str]]:
    """Twilio's delivery status callback for a reply we sent to +15550001111."""
    sid = "SM" + "2" * 32
    return [("SmsSid", sid), ("SmsStatus", status), ("MessageStatus", status),
            ("To", "+15550001111"), ("MessageSid", sid), ("AccountSid", "AC" + "0" * 32),
            ("From", "+15550100000"), ("ApiVersion", "2010-04-01")]  # fmt: skip


@pytest.mark.parametrize("status", ["sent", "delivered", "undelivered"])
async def test_a_delivery_report_posted_to_the_inbound_url_is_not_a_message(
    harness: Harness, caplog: pytest.LogCaptureFixture, status: str
) -> None:
    """A Messaging Service's status callback URL set to ``/twilio`` (one URL for all) made
    each delivery report an inbound message *from our own number*: a conversation started
    with it as the person, and its reply went nowhere. It is handled as the status callback
    it is, answered with an empty ``<Response />``, and a log line names the right URL."""
    with caplog.at_level(logging.INFO, logger="switchboard.web"):
        reply = await harness.post("/twilio", _delivery_report(status))
    assert reply.status == 200 and reply.content_type.startswith("text/xml")
    assert reply.root.tag == "Response" and len(reply.root) == 0
    assert await harness.store.conversation("sms:+15550001111:+15550100000") is None
    assert await harness.store.conversation(KEY) is None
    assert "/twilio/status" in caplog.text


async def test_a_recording_status_posted_to_the_inbound_url_reaches_the_call(
    harness: Harness,
) -> None:
    """A ``recordingStatusCallback`` sent to ``/twilio`` was read as the call's first request
    again and answered from its stored reply: the recording never reached the flow."""
    call = harness.call("+15550001111")
    await call.start()
    params = [("AccountSid", "AC" + "0" * 32), ("CallSid", call.sid),
              ("RecordingSid", "RE" + "3" * 32), ("RecordingUrl", "https://api.twilio.com/r"),
              ("RecordingStatus", "completed"), ("RecordingDuration", "12")]  # fmt: skip
    reply = await harness.post("/twilio", params)
    assert reply.status == 200 and len(reply.root) == 0
    kinds = [e.kind for e in await harness.store.log(f"voice:{call.sid}") if e.direction == "in"]
    assert kinds[-1] == "recording_status", kinds


@pytest.mark.parametrize(
    "latitude, longitude",
    [
        ("nan", "0"),
        ("0", "inf"),
        ("-Infinity", "0"),
        ("90.5", "0"),
        ("0", "-180.1"),
        ("1e999", "0"),
    ],
)
async def test_a_location_that_is_not_a_place_on_earth_is_400(
    harness: Harness, latitude: str, longitude: str
) -> None:
    """``float()`` reads ``nan``, ``inf`` and ``1e999``: a shared location of NaN degrees
    reached the flow (and NaN is no JSON the store's PostgreSQL takes)."""
    phone = harness.phone("+15550001111")
    params = [*phone.message_params(""), ("Latitude", latitude), ("Longitude", longitude)]
    reply = await harness.post("/twilio", params)
    assert reply.status == 400 and "Latitude/Longitude" in reply.body
    good = [*phone.message_params(""), ("Latitude", "-33.8688"), ("Longitude", "151.2093")]
    assert (await harness.post("/twilio", good)).status == 200


@pytest.mark.parametrize(
    "public_url",
    ["https://hooks.example.com/?site=1", "https://hooks.example.com#rc=2", "https://h.example/?"],
)
def test_a_public_url_with_a_query_or_fragment_is_refused_when_built(public_url: str) -> None:
    """The URL Twilio signed is the public URL + the request's own path and query: with a
    query or fragment in it (``https://h/?x=1/twilio``) every request was a 403."""
    from bot import ConfigError, Settings

    with pytest.raises(ConfigError, match="query string or fragment"):
        Settings.from_env({"TWILIO_AUTH_TOKEN": "t", "SWITCHBOARD_PUBLIC_URL": public_url})


# (public URL the app is configured with, URL Twilio signed, path and query posted to)
SIGNED_AS = [
    ("https://hooks.example.com", "https://hooks.example.com/twilio", "/twilio"),
    ("https://hooks.example.com", "https://hooks.example.com:443/twilio", "/twilio"),
    ("https://hooks.example.com:8443", "https://hooks.example.com:8443/twilio", "/twilio"),
    ("https://hooks.example.com:8443", "https://hooks.example.com/twilio", "/twilio"),
    ("http://hooks.example.com", "http://hooks.example.com:80/twilio", "/twilio"),
    ("https://hooks.example.com/sb/", "https://hooks.example.com/sb/twilio", "/twilio"),
    ("https://hooks.example.com", "https://hooks.example.com/twilio?foo=1&bar=2",
     "/twilio?foo=1&bar=2"),
    ("https://hooks.example.com", "https://hooks.example.com/twilio?n=a%20b&p=%2B1&s=a+b",
     "/twilio?n=a%20b&p=%2B1&s=a+b"),
]  # fmt: skip


@pytest.mark.parametrize("public, signed, path", SIGNED_AS)
async def test_the_webhook_accepts_what_the_sdk_accepts_and_refuses_a_tamper(
    public: str, signed: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """End to end through the app: signed by the real ``RequestValidator`` for the URL
    Twilio called (with and without the port, a path prefix, a query kept as encoded),
    with repeated, empty and non-ASCII parameters; one changed value is a 403 and a line."""
    async with Harness(build, public_url=public) as h:
        params = h.phone("+15550001111").message_params("Héllo 👋 & <café>")
        params += [("Extra", "b"), ("Extra", "a"), ("Extra", "b"), ("Empty", "")]
        validator = RequestValidator(TEST_AUTH_TOKEN)
        signature = validator.compute_signature(signed, MultiDict(params))
        received = public.rstrip("/") + path
        assert validator.validate(received, MultiDict(params), signature)
        app: Quart = h.app  # type: ignore[assignment]
        client = app.test_client()
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": signature}  # fmt: skip
        ok = await client.post(path, data=urlencode(params).encode(), headers=headers)
        assert ok.status_code == 200, await ok.get_data(as_text=True)
        tampered = [(k, "Héllo 👋 & <cafe>" if k == "Body" else v) for k, v in params]
        assert not validator.validate(received, MultiDict(tampered), signature)
        with caplog.at_level(logging.WARNING, logger="switchboard.web"):
            bad = await client.post(path, data=urlencode(tampered).encode(), headers=headers)
        assert bad.status_code == 403
        assert "bad X-Twilio-Signature" in caplog.text and TEST_AUTH_TOKEN not in caplog.text
