"""The webhook's answers to bad input: a clear 4xx, never a 500, never a half-written turn."""

from __future__ import annotations

import pytest

from bot import Router, Settings
from bot.testing import TEST_AUTH_TOKEN, TEST_PUBLIC_URL, Harness, sign
from flows import EXAMPLE_FLOWS, build

KEY = "sms:+15550100000:+15550001111"


async def raw_post(
    h: Harness, body: bytes, content_type: str = "application/x-www-form-urlencoded", **headers: str
) -> tuple[int, str]:
    client = h.app.test_client()  # type: ignore[union-attr]
    response = await client.post(
        "/twilio", data=body, headers={"Content-Type": content_type, **headers}
    )
    return response.status_code, await response.get_data(as_text=True)


async def assert_nothing_stored(h: Harness) -> None:
    assert await h.store.conversation(KEY) is None
    assert await h.store.log(KEY) == []


async def test_a_signed_message_is_answered_with_twiml(harness: Harness) -> None:
    reply = await harness.phone("+15550001111").send("hi")
    assert reply.status == 200
    assert reply.content_type == "text/xml; charset=utf-8"
    assert reply.body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')


@pytest.mark.parametrize("missing", ["From", "To", "MessageSid"])
async def test_missing_required_parameters_are_400(harness: Harness, missing: str) -> None:
    params = [(k, v) for k, v in harness.phone("+15550001111").message_params("hi") if k != missing]
    if missing == "MessageSid":
        params = [(k, v) for k, v in params if k not in {"SmsSid", "SmsMessageSid"}]
    reply = await harness.post("/twilio", params)
    assert reply.status == 400 and missing in reply.body
    await assert_nothing_stored(harness)


async def test_a_missing_signature_is_403_saying_so_in_one_log_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="switchboard")
    reply = await harness.post(
        "/twilio", harness.phone("+15550001111").message_params("hi"), signed=False
    )
    assert reply.status == 403 and "X-Twilio-Signature is missing" in reply.body
    said = [r for r in caplog.records if "X-Twilio-Signature" in r.getMessage()]
    assert [r.levelname for r in said] == ["WARNING"], said  # once, not once per layer
    assert "without X-Twilio-Signature" in said[0].getMessage()
    await assert_nothing_stored(harness)


async def test_a_wrong_signature_is_403_and_the_token_is_not_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    params = harness.phone("+15550001111").message_params("hi")
    bad = sign(TEST_PUBLIC_URL + "/twilio", params, token="some-other-token")
    reply = await harness.post("/twilio", params, headers={"X-Twilio-Signature": bad}, signed=False)
    assert reply.status == 403
    assert TEST_AUTH_TOKEN not in caplog.text and TEST_AUTH_TOKEN not in reply.body
    await assert_nothing_stored(harness)


async def test_a_tampered_body_is_403(harness: Harness) -> None:
    params = harness.phone("+15550001111").message_params("hi")
    signature = sign(TEST_PUBLIC_URL + "/twilio", params)
    tampered = [(k, "evil" if k == "Body" else v) for k, v in params]
    reply = await harness.post(
        "/twilio", tampered, headers={"X-Twilio-Signature": signature}, signed=False
    )
    assert reply.status == 403


async def test_the_query_string_is_signed_exactly_as_sent(harness: Harness) -> None:
    from werkzeug.datastructures import MultiDict

    params = MultiDict(harness.phone("+15550001111").message_params("hi"))
    client = harness.app.test_client()  # type: ignore[union-attr]
    good = sign(TEST_PUBLIC_URL + "/twilio?note=a%20b", params)
    response = await client.post(
        "/twilio?note=a%20b", form=params, headers={"X-Twilio-Signature": good}
    )
    assert response.status_code == 200
    respelled = sign(TEST_PUBLIC_URL + "/twilio?note=a+b", params)
    response = await client.post(
        "/twilio?note=a%20b", form=params, headers={"X-Twilio-Signature": respelled}
    )
    assert response.status_code == 403


async def test_wrong_content_type_is_415(harness: Harness) -> None:
    status, body = await raw_post(harness, b"Body=hi", "text/plain")
    assert status == 415 and "application/x-www-form-urlencoded" in body
    await assert_nothing_stored(harness)


async def test_unsigned_json_is_403_not_processed(harness: Harness) -> None:
    status, _ = await raw_post(harness, b'{"Body": "hi"}', "application/json")
    assert status == 403
    await assert_nothing_stored(harness)


async def test_an_oversized_body_is_413_naming_the_setting_and_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="switchboard")
    status, text = await raw_post(harness, b"Body=" + b"x" * (65 * 1024))
    assert status == 413 and "SWITCHBOARD_MAX_BODY_BYTES" in text
    assert "POST /twilio: 413" in caplog.text
    await assert_nothing_stored(harness)


async def test_a_wrong_method_is_405_and_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="switchboard")
    client = harness.app.test_client()  # type: ignore[union-attr]
    response = await client.get("/twilio")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert "GET /twilio: 405 Method Not Allowed" in caplog.text


@pytest.mark.parametrize("body", [b"Body=\xff\xfe&From=%2B1", b"Body=%FF%FE&From=%2B1"])
async def test_invalid_utf8_is_400(harness: Harness, body: bytes) -> None:
    status, text = await raw_post(harness, body)
    assert status == 400 and "UTF-8" in text
    await assert_nothing_stored(harness)


async def test_too_many_fields_is_400(harness: Harness) -> None:
    status, _ = await raw_post(harness, "&".join(f"f{i}=1" for i in range(1500)).encode())
    assert status == 400


async def test_unknown_parameters_are_kept_and_signed(harness: Harness) -> None:
    phone = harness.phone("+15550001111")
    reply = await phone.send("hi", extra=[("SomethingNew", "yes"), ("Tag", "a"), ("Tag", "b")])
    assert reply.status == 200


async def test_mismatched_channels_are_400(harness: Harness) -> None:
    params = [
        (k, "whatsapp:+15550100000" if k == "To" else v)
        for k, v in harness.phone("+15550001111").message_params("hi")
    ]
    reply = await harness.post("/twilio", params)
    assert reply.status == 400


async def test_bad_num_media_is_400(harness: Harness) -> None:
    params = [
        (k, "lots" if k == "NumMedia" else v)
        for k, v in harness.phone("+15550001111").message_params("hi")
    ]
    assert (await harness.post("/twilio", params)).status == 400


async def test_an_unrouted_number_is_404_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    router = Router()
    router.add("+15550100000", "support")
    async with Harness.of(EXAMPLE_FLOWS, router) as h:
        assert (await h.phone("+15550001111", to="+15550100000").send("hi")).status == 200
        reply = await h.phone("+15550001111", to="+15559999999").send("hi")
        assert reply.status == 404 and "+15559999999" in reply.body
        assert "no flow is routed" in caplog.text


async def test_healthz_reports_the_store(harness: Harness) -> None:
    client = harness.app.test_client()  # type: ignore[union-attr]
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert (await response.get_json())["store"] == "writable"
    await harness.store.close()
    response = await client.get("/healthz")
    assert response.status_code == 503


@pytest.mark.parametrize(
    "peer, status",
    [("127.0.0.1", 200), ("203.0.113.9", 403)],
    ids=["trusted-proxy-rebuilds-the-url", "untrusted-peer-is-ignored"],
)
async def test_forwarded_headers_count_only_from_trusted_proxies(peer: str, status: int) -> None:
    import ipaddress

    from werkzeug.datastructures import MultiDict

    trusted = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("10.0.0.0/8"))

    def factory(settings: Settings, **kw):  # type: ignore[no-untyped-def]
        return build(
            Settings(auth_token=settings.auth_token, public_url=None, trusted_proxies=trusted),
            **kw,
        )

    async with Harness(factory) as h:
        params = MultiDict(h.phone("+15550001111").message_params("hi"))
        headers = {
            "X-Twilio-Signature": sign("https://hooks.example.com/twilio", params),
            "X-Forwarded-Proto": "HTTPS",  # scheme case is not part of the signed URL
            "X-Forwarded-Host": "hooks.example.com",
        }
        client = h.app.test_client()  # type: ignore[union-attr]
        response = await client.post(
            "/twilio", form=params, headers=headers, scope_base={"client": (peer, 1)}
        )
        assert response.status_code == status


async def test_unicode_digits_in_num_media_are_400_not_500(harness: Harness) -> None:
    for odd in ("²", "١"):
        params = [
            (k, odd if k == "NumMedia" else v)
            for k, v in harness.phone("+15550001111").message_params("hi")
        ]
        assert (await harness.post("/twilio", params)).status == 400


async def test_other_channel_prefixes_are_400_not_sms(harness: Harness) -> None:
    params = [
        (k, {"From": "messenger:123", "To": "messenger:456"}.get(k, v))
        for k, v in harness.phone("+15550001111").message_params("hi")
    ]
    reply = await harness.post("/twilio", params)
    assert reply.status == 400 and "messenger:123" in reply.body
