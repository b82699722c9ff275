"""The worker runs with the app (started and stopped with it); configuration from the env."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.errors import ConfigError
from bot.outbound.config import DEFAULT_API_URL, Credentials, OutboundSettings
from tests.outbound.conftest import CALLER, make_harness

FAST = dict.fromkeys(("long_code", "toll_free", "short_code", "whatsapp"), 1e6)


async def eventually(check, seconds: float = 3.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_the_background_worker_sends_without_being_asked() -> None:
    settings = OutboundSettings(worker=True, poll_seconds=0.05, default_rates=FAST)
    async with make_harness(outbound_settings=settings) as h:
        assert h.twilio is not None
        await h.phone(CALLER).send("hi")
        await h.phone(CALLER).send("ping")  # wakes the worker: no polling delay needed
        await eventually(lambda: len(h.twilio.sent()) == 1)
        await h.phone(CALLER).send("later")
        h.clock.advance(timedelta(minutes=30))  # the timer runner polls the (fake) clock
        await eventually(lambda: len(h.twilio.sent()) == 2)
        assert [m.body for m in h.twilio.sent()] == ["pong", "beep!"]
        outbox = h.runtime.outbox
    assert outbox.loop.task is None  # stopped with the app


def test_credentials_from_an_auth_token() -> None:
    creds = Credentials.from_env({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "sekrit"})
    assert (creds.username, creds.password, creds.api_url) == ("AC1", "sekrit", DEFAULT_API_URL)
    assert "sekrit" not in repr(creds)


def test_an_api_key_is_preferred_and_the_url_is_configurable() -> None:
    env = {
        "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok", "TWILIO_API_KEY_SID": "SK1",
        "TWILIO_API_KEY_SECRET": "secret", "SWITCHBOARD_TWILIO_API_URL": "http://127.0.0.1:9",
    }  # fmt: skip
    creds = Credentials.from_env(env)
    assert (creds.account_sid, creds.username, creds.password) == ("AC1", "SK1", "secret")
    assert creds.api_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "env",
    [
        {"TWILIO_AUTH_TOKEN": "tok"},
        {"TWILIO_ACCOUNT_SID": "AC1"},
        {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_API_KEY_SID": "SK1"},
        {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "SWITCHBOARD_TWILIO_API_URL": "x"},
    ],
)
def test_bad_credentials_are_explained_without_secrets(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        Credentials.from_env(env)
    assert "tok" not in str(caught.value)


def test_outbound_settings_from_env() -> None:
    settings = OutboundSettings.from_env({
        "SWITCHBOARD_SEND_RATES": "+15550100000=5,whatsapp:+15550100000=20",
        "SWITCHBOARD_SEND_RATE": "2", "SWITCHBOARD_REST_CONCURRENCY": "4",
        "SWITCHBOARD_SEGMENT_WARNING": "2", "SWITCHBOARD_SMART_ENCODING": "1",
        "SWITCHBOARD_PRICE_PER_SEGMENT": "0.01", "SWITCHBOARD_OUTBOX_WORKER": "0",
    })  # fmt: skip
    assert settings.credentials is None and not settings.worker and settings.smart_encoding
    assert settings.rates == {"+15550100000": 5.0, "whatsapp:+15550100000": 20.0}
    assert set(settings.default_rates.values()) == {2.0}
    assert (settings.max_concurrency, settings.segment_warning) == (4, 2)
    assert settings.price_per_segment == Decimal("0.01")
    for bad in ({"SWITCHBOARD_SEND_RATES": "+1555=fast"}, {"SWITCHBOARD_SEND_RATE": "-1"}):
        with pytest.raises(ConfigError):
            OutboundSettings.from_env(bad)


async def test_smart_encoding_sends_gsm7() -> None:
    settings = OutboundSettings(worker=False, default_rates=FAST, smart_encoding=True)
    async with make_harness(outbound_settings=settings) as h:
        await h.phone(CALLER).send("hi")
        await h.phone(CALLER).send("quote")
        await h.drain()
        assert h.twilio is not None
        assert [m.body for m in h.twilio.sent()] == ['It\'s "fine" - really']
        message = h.twilio.sent()[0]
        assert message.resource()["num_segments"] == "1"

        def read(conn):  # type: ignore[no-untyped-def]
            return conn.execute("SELECT encoding, segments FROM outbox").fetchone()

        assert await h.store._run(read) == ("GSM-7", 1)  # type: ignore[attr-defined]
