"""The fake Twilio REST API itself, driven by the real twilio client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from operator import itemgetter

import pytest

from bot.dev.fake_twilio import FakeTwilio
from bot.errors import RestError
from bot.outbound.config import Credentials
from bot.outbound.rest import TwilioRest

TO, FROM = "+15550001111", "+15550100000"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(api_keys={"SK" + "1" * 32: "key-secret"}) as started:
        yield started


def client(
    fake: FakeTwilio, username: str | None = None, password: str | None = None
) -> TwilioRest:
    creds = Credentials(
        fake.account_sid, username or fake.account_sid, password or fake.auth_token, fake.base_url
    )
    return TwilioRest(creds, timeout=2)


async def test_messages_create_and_list_with_filters(fake: FakeTwilio) -> None:
    rest = client(fake)
    made = await rest.create_message(to=TO, from_=FROM, body="héllo 👋", media=["https://x/a.png"])
    assert made.sid.startswith("MM") and made.status == "queued" and made.segments == 1
    since = datetime.now(UTC) - timedelta(minutes=1)
    [found] = await rest.sent_since(to=TO, from_=FROM, since=since)
    assert (found.sid, found.body) == (made.sid, "héllo 👋")
    assert await rest.sent_since(to=FROM, from_=TO, since=since) == []
    assert await rest.sent_since(to=TO, from_=FROM, since=since + timedelta(minutes=5)) == []
    await rest.close()


async def test_api_key_auth_and_bad_credentials(fake: FakeTwilio) -> None:
    rest = client(fake, "SK" + "1" * 32, "key-secret")
    assert (await rest.create_message(to=TO, from_=FROM, body="hi")).sid.startswith("SM")
    await rest.close()
    bad = client(fake, "SK" + "1" * 32, "wrong")
    with pytest.raises(RestError) as caught:
        await bad.create_message(to=TO, from_=FROM, body="hi")
    assert caught.value.code == 20003 and "wrong" not in str(caught.value)
    await bad.close()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "5551234", "body": "x"}, 21211),
        ({"to": TO, "body": ""}, 21602),
        ({"to": TO, "body": "x" * 1601}, 21617),
    ],
)
async def test_validation_errors(fake: FakeTwilio, kwargs: dict[str, str], code: int) -> None:
    rest = client(fake)
    with pytest.raises(RestError) as caught:
        await rest.create_message(from_=FROM, **kwargs)
    assert (caught.value.code, caught.value.status) == (code, 400)
    await rest.close()


async def test_calls_create(fake: FakeTwilio) -> None:
    rest = client(fake)
    call = await rest.create_call(to=TO, from_=FROM, url="https://switchboard.test/twilio")
    assert call.sid.startswith("CA") and fake.calls[call.sid].url.endswith("/twilio")  # type: ignore[union-attr]
    with pytest.raises(RestError):
        await rest.create_call(to="nope", from_=FROM, url="https://switchboard.test/twilio")
    await rest.close()


async def test_injected_faults(fake: FakeTwilio) -> None:
    rest = client(fake)
    fake.fail_next(status=429, code=20429, retry_after=7)
    with pytest.raises(RestError) as caught:
        await rest.create_message(to=TO, from_=FROM, body="hi")
    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)
    fake.fail_next(status=502)
    with pytest.raises(RestError) as caught:
        await rest.create_message(to=TO, from_=FROM, body="hi")
    assert caught.value.status == 502 and caught.value.retry_after is None
    rest.timeout = 0.1
    fake.fail_next(delay=0.3)
    with pytest.raises(RestError) as caught:
        await rest.create_message(to=TO, from_=FROM, body="hi")
    assert caught.value.timeout
    await rest.close()


async def test_unreachable_api_is_a_transient_error() -> None:
    rest = TwilioRest(Credentials("AC1", "AC1", "tok", "http://127.0.0.1:9"), timeout=2)
    with pytest.raises(RestError) as caught:
        await rest.create_message(to=TO, from_=FROM, body="hi")
    assert caught.value.status is None and not caught.value.timeout
    assert "cannot connect to Twilio" in str(caught.value) and caught.value.unreached
    await rest.close()


async def test_status_callbacks_are_signed_for_the_callback_url(fake: FakeTwilio) -> None:
    posted: list[tuple[str, list[tuple[str, str]]]] = []

    async def poster(url: str, params: list[tuple[str, str]]) -> int:
        posted.append((url, params))
        return 204

    fake.poster = poster
    rest = client(fake)
    made = await rest.create_message(
        to=f"whatsapp:{TO}", from_=f"whatsapp:{FROM}", body="hi",
        status_callback="https://switchboard.test/twilio/status?ob=OB1",
    )  # fmt: skip
    assert await fake.deliver(made.sid, "sent", "read") == [204, 204]
    url, params = posted[-1]
    assert url.endswith("?ob=OB1")
    assert ("MessageStatus", "read") in params and ("EventType", "READ") in params
    assert ("ChannelPrefix", "whatsapp") in params
    await rest.close()


async def test_every_create_parameter_is_recorded_as_twilio_receives_it(fake: FakeTwilio) -> None:
    rest = client(fake)
    variables = '{"1": "Ana", "2": "Tue 10:00"}'
    template = await rest.create_message(
        to=f"whatsapp:{TO}", from_=f"whatsapp:{FROM}", content_sid="HX" + "a" * 32,
        content_variables=variables, status_callback="https://switchboard.test/s?ob=OB1",
    )  # fmt: skip
    media = await rest.create_message(
        to=TO, from_=FROM, body="two", media=["https://x/a.png", "https://x/b.png"]
    )
    sent = {m.sid: m for m in fake.sent()}
    by_name = itemgetter(0)  # a stable sort: repeated names (MediaUrl) keep their order
    assert sorted(sent[template.sid].params, key=by_name) == [
        ("ContentSid", "HX" + "a" * 32), ("ContentVariables", variables),
        ("From", f"whatsapp:{FROM}"), ("StatusCallback", "https://switchboard.test/s?ob=OB1"),
        ("To", f"whatsapp:{TO}"),
    ]  # fmt: skip
    assert sent[template.sid].content_variables == variables  # the JSON string, not a dict
    assert sorted(sent[media.sid].params, key=by_name) == [
        ("Body", "two"), ("From", FROM), ("MediaUrl", "https://x/a.png"),
        ("MediaUrl", "https://x/b.png"), ("To", TO),
    ]  # fmt: skip
    assert sent[media.sid].content_variables is None
