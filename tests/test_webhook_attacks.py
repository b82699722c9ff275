"""Issue 17: the webhook under attack. Each test is named after what the attack run found."""

from __future__ import annotations

import base64
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
ACCOUNT = "AC" + "0" * 32


async def _raw(
    h: Harness, path: str, body: bytes, content_type: str, headers: dict[str, str]
) -> tuple[int, str, dict[str, str]]:
    app: Quart = h.app  # type: ignore[assignment]
    client = app.test_client()
    response = await client.post(path, data=body, headers={"Content-Type": content_type, **headers})
    headers = {k.lower(): v for k, v in response.headers.items()}
    return response.status_code, await response.get_data(as_text=True), headers


async def test_a_signed_message_recut_into_new_sids_is_refused(harness: Harness) -> None:
    """Re-split: ``MessageSid`` swallowing ``NumMedia0`` still validates with the SDK, and was
    processed as a new message; every re-cut is now a 400 and one message is stored."""
    params = harness.phone("+15550001111").message_params("hi")
    assert (await harness.post("/twilio", params)).status == 200
    form = dict(params)
    sid = form["MessageSid"]
    recut = [(k, v) for k, v in params if k != "NumMedia"]
    recut = [(k, v + "NumMedia" + form["NumMedia"] if k == "MessageSid" else v) for k, v in recut]
    url = TEST_PUBLIC_URL + "/twilio"
    signature = sign(url, params)
    assert RequestValidator(TEST_AUTH_TOKEN).validate(url, MultiDict(recut), signature)
    reply = await harness.post("/twilio", recut, headers={"X-Twilio-Signature": signature},
                               signed=False)  # fmt: skip
    assert reply.status == 400 and "MessageSid" in reply.body
    inbound = [e for e in await harness.store.log(KEY) if e.direction == "in"]
    assert [e.sid for e in inbound] == [sid]


async def test_message_ids_that_disagree_are_refused(harness: Harness) -> None:
    params = harness.phone("+15550001111").message_params("hi")
    params = [(k, "SM" + "e" * 32 if k == "SmsSid" else v) for k, v in params]
    reply = await harness.post("/twilio", params)
    assert reply.status == 400
    assert await harness.store.conversation(KEY) is None


async def test_another_requests_idempotency_token_neither_replays_nor_drops() -> None:
    """A signed request from A carrying B's token got B's stored reply and A's message was
    dropped. The token now counts only with the conversation and id it came with."""
    async with Harness(build) as h:
        greeting = await h.phone("+15550002222").send("hi")
        b = await h.phone("+15550002222").send("1", token="token-of-b")
        assert b.body != greeting.body
        a = await h.phone("+15550001111").send("hi", token="token-of-b")
        assert a.status == 200 and a.body == greeting.body  # A's own first answer, not B's
        assert await h.store.conversation(KEY) is not None
        logged = [e for e in await h.store.log(KEY) if e.direction == "in"]
        assert len(logged) == 1


async def test_a_retry_with_its_token_is_answered_once(harness: Harness) -> None:
    phone = harness.phone("+15550001111")
    sid = "SM" + "f" * 32
    first = await phone.send("hi", sid=sid, token="t-1")
    again = await phone.send("hi", sid=sid, token="t-1")
    assert first.body == again.body
    assert len([e for e in await harness.store.log(KEY) if e.direction == "in"]) == 1


async def test_a_request_for_another_account_is_403() -> None:
    async with Harness(build, settings={"account_sid": "AC" + "1" * 32}) as h:
        reply = await h.phone("+15550001111").send("hi")  # the harness sends AC000…
        assert reply.status == 403
        assert await h.store.conversation(KEY) is None
    async with Harness(build, settings={"account_sid": ACCOUNT}) as h:
        assert (await h.phone("+15550001111").send("hi")).status == 200


def _json_request(h: Harness, document: dict[str, str]) -> tuple[str, bytes, str]:
    body = json.dumps(document).encode()
    path = "/twilio?bodySHA256=" + hashlib.sha256(body).hexdigest()
    signature = sign(TEST_PUBLIC_URL + path, [])
    return path, body, signature


async def test_a_json_webhook_signed_with_body_sha256_is_served(harness: Harness) -> None:
    document = dict(harness.phone("+15550001111").message_params("hi"))
    path, body, signature = _json_request(harness, document)
    status, text, _ = await _raw(harness, path, body, "application/json",
                                 {"X-Twilio-Signature": signature})  # fmt: skip
    assert status == 200 and "<Response>" in text
    assert await harness.store.conversation(KEY) is not None


async def test_a_json_body_that_does_not_match_its_hash_is_403(harness: Harness) -> None:
    document = dict(harness.phone("+15550001111").message_params("hi"))
    path, _, signature = _json_request(harness, document)
    forged = json.dumps({**document, "Body": "STOP"}).encode()
    status, _, _ = await _raw(harness, path, forged, "application/json",
                              {"X-Twilio-Signature": signature})  # fmt: skip
    assert status == 403
    assert await harness.store.conversation(KEY) is None


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_basic_auth_challenges_then_accepts_credentials_in_the_url() -> None:
    """Twilio first posts without credentials; a 401 with ``WWW-Authenticate`` makes it
    retry with them. It may sign the URL with or without ``user:pass@``: both pass."""
    async with Harness(build, settings={"webhook_auth": ("twilio", "s3cret")}) as h:
        params = h.phone("+15550001111").message_params("hi")
        body = urlencode(params).encode()
        form = "application/x-www-form-urlencoded"
        plain = sign(TEST_PUBLIC_URL + "/twilio", params)
        status, _, headers = await _raw(h, "/twilio", body, form, {"X-Twilio-Signature": plain})
        assert status == 401, headers
        assert headers["www-authenticate"].startswith("Basic realm=")
        wrong = {"X-Twilio-Signature": plain, "Authorization": _basic("twilio", "nope")}
        assert (await _raw(h, "/twilio", body, form, wrong))[0] == 401
        with_creds = sign("https://twilio:s3cret@switchboard.test/twilio", params)
        auth = _basic("twilio", "s3cret")
        for signature in (with_creds, plain):
            headers = {"X-Twilio-Signature": signature, "Authorization": auth}
            status, text, _ = await _raw(h, "/twilio", body, form, headers)
            assert status == 200, text
        other = sign(TEST_PUBLIC_URL + "/other", params)
        bad = {"X-Twilio-Signature": other, "Authorization": auth}
        assert (await _raw(h, "/twilio", body, form, bad))[0] == 403


async def test_405_carries_allow(harness: Harness) -> None:
    app: Quart = harness.app  # type: ignore[assignment]
    response = await app.test_client().get("/twilio")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_basic_auth_and_account_settings_are_checked_when_built() -> None:
    import pytest

    from bot import ConfigError, Settings

    env = {"SWITCHBOARD_DEV": "1"}
    with pytest.raises(ConfigError, match="SWITCHBOARD_WEBHOOK_PASSWORD"):
        Settings.from_env({**env, "SWITCHBOARD_WEBHOOK_USER": "twilio"})
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID"):
        Settings.from_env({**env, "TWILIO_ACCOUNT_SID": "AC123"})
    with pytest.raises(ConfigError, match="must not contain ':'"):  # every request a 401
        Settings.from_env(
            {**env, "SWITCHBOARD_WEBHOOK_USER": "u:x", "SWITCHBOARD_WEBHOOK_PASSWORD": "p4ss"}
        )
    built = Settings.from_env(
        {**env, "SWITCHBOARD_WEBHOOK_USER": "u", "SWITCHBOARD_WEBHOOK_PASSWORD": "p4ss"}
    )
    assert built.webhook_auth == ("u", "p4ss") and "p4ss" not in repr(built)


async def test_malformed_json_bodies_are_400_never_500(harness: Harness) -> None:
    for body in (b"[" * 40000, b'["a list"]', b"{not json", b'{"Body": "\xff"}'):
        status, _, _ = await _raw(harness, "/twilio", body, "application/json", {})
        assert status == 400, body[:20]


async def test_a_long_bad_value_is_named_in_part_in_the_answer_and_the_log(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A 5,000-character ``From`` or ``Digits`` was echoed whole in the 400 and its log line."""
    junk = "x" * 5000
    params = [(k, junk if k == "From" else v) for k, v in harness.phone("+15550001111")
              .message_params("hi")]  # fmt: skip
    with caplog.at_level(logging.INFO):
        reply = await harness.post("/twilio", params)
        call = harness.call("+15550001111")
        await call.start()
        pressed = await call.press("1" + "#" * 5000)  # the last "#" ends the keys, not posted
    assert reply.status == 400 and "'xxxxxxxx" in reply.body and "(5,000 characters)" in reply.body
    assert len(reply.body) < 300
    assert pressed.status == 400 and "(5,000 characters)" in pressed.body
    assert all(len(r.getMessage()) < 400 for r in caplog.records), "a log line held it whole"
    assert junk not in caplog.text
