"""Issue 15: the example sign-up flow verifying the number with ``VerifyPhone``, by SMS and on
a call, through signed webhooks, the real ``twilio`` client and the fake Verify API.

Success, a wrong code, a resend, the voice fallback, our rate limit, an expired code, STOP in
the middle, SKIP; the code never reaches the store (the log shows it masked).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.dev.fake_verify import FakeVerify
from bot.engine.subflows import MASK
from bot.testing import Harness
from flows import SIGNUP_NUMBER, build

ME = "+15550001111"
KEY = f"sms:{SIGNUP_NUMBER}:{ME}"
SENT = (
    "We've sent a code to …1111 by text message. Reply with the code, NEW for a new code, or SKIP."
)
WELCOME = "You're signed up, Ada. Welcome aboard!"
UNVERIFIED = "We couldn't verify your number, so you're not signed up. Text us to try again."


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


def verify(h: Harness) -> FakeVerify:
    assert h.twilio is not None
    return h.twilio.verify


def wrong(h: Harness) -> str:
    return "000000" if verify(h).code_for(ME) != "000000" else "111111"


async def _to_code(h: Harness) -> None:
    phone = h.phone(ME, SIGNUP_NUMBER)
    assert (await phone.send("hi")).messages == ["Welcome! What's your name?"]
    assert (await phone.send("Ada")).messages == [SENT]


async def test_success_by_sms_and_the_code_is_never_stored(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        code = verify(h).code_for(ME)
        reply = await h.phone(ME, SIGNUP_NUMBER).send(code)
        assert reply.messages == ["Thanks, your number is verified.", WELCOME]
        stored = await h.store.conversation(KEY)
        assert stored is not None and (stored.flow, stored.state) == ("verified_signup", "welcome")
        assert stored.data["verified"] == ME and code not in str(stored.data)
        log = await h.store.log(KEY)
        assert code not in str(log) and MASK in [e.body for e in log]
        assert [e.kind for e in log if e.kind in ("called", "returned")] == ["called", "returned"]


async def test_a_wrong_code_then_the_right_one(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        phone = h.phone(ME, SIGNUP_NUMBER)
        reply = await phone.send(wrong(h))
        assert reply.messages == [
            "That code isn't right. Reply with the code, NEW for a new code, or SKIP."
        ]
        assert (await phone.send(verify(h).code_for(ME))).messages[-1] == WELCOME


async def test_a_resend_sends_the_same_code_again(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        code = verify(h).code_for(ME)
        reply = await h.phone(ME, SIGNUP_NUMBER).send("NEW")
        assert reply.messages == ["A new code is on its way by text message."]
        assert verify(h).sends == [(ME, "sms"), (ME, "sms")] and verify(h).code_for(ME) == code


async def test_two_wrong_codes_fall_back_to_a_voice_call(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        phone = h.phone(ME, SIGNUP_NUMBER)
        await phone.send(wrong(h))
        reply = await phone.send(wrong(h))
        assert reply.messages == ["That code isn't right. We're calling you with a new code."]
        assert verify(h).sends[-1] == (ME, "call")
        assert (await phone.send(verify(h).code_for(ME))).messages[-1] == WELCOME


async def test_four_wrong_codes_stop_with_a_clear_message(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        phone = h.phone(ME, SIGNUP_NUMBER)
        for _ in range(3):
            await phone.send(wrong(h))
        reply = await phone.send(wrong(h))
        assert reply.messages == ["That code isn't right, and that was the last try.", UNVERIFIED]


async def test_our_rate_limit_holds_across_a_restart(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        phone = h.phone(ME, SIGNUP_NUMBER)
        assert (await phone.send("NEW")).messages == ["A new code is on its way by text message."]
        assert (await phone.send("NEW")).messages == ["A new code is on its way by text message."]
        await phone.send("SKIP")
        await h.deploy(build)  # a new process on the same database
        assert (await phone.send("hi")).messages == ["Welcome! What's your name?"]
        reply = await phone.send("Ada")
        assert reply.messages == [
            "You've asked for too many codes. Please try again later.",
            UNVERIFIED,
        ]
        assert len(verify(h).sends) == 3  # the fourth never reached Verify


async def test_an_expired_code_asks_for_a_new_one(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        code = verify(h).code_for(ME)
        h.clock.advance(timedelta(minutes=11))
        phone = h.phone(ME, SIGNUP_NUMBER)
        reply = await phone.send(code)
        assert reply.messages == [
            "That code has expired. Reply with the code, NEW for a new code, or SKIP."
        ]
        await phone.send("NEW")
        assert (await phone.send(verify(h).code_for(ME))).messages[-1] == WELCOME


async def test_silence_expires_the_subflow_and_the_parent_goes_on(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        h.clock.advance(timedelta(minutes=16))
        await h.drain()
        stored = await h.store.conversation(KEY)
        assert stored is not None and (stored.flow, stored.state) == (
            "verified_signup",
            "unverified",
        )


async def test_stop_in_the_middle_keeps_the_place_and_sends_nothing(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        phone = h.phone(ME, SIGNUP_NUMBER)
        await phone.send("STOP")
        stored = await h.store.conversation(KEY)
        assert stored is not None and stored.flow == "verify_phone"
        sends = len(verify(h).sends)
        await phone.send("NEW")  # opted out: no code goes by SMS (docs/verify.md)
        assert len(verify(h).sends) == sends


async def test_skip_gives_up(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        reply = await h.phone(ME, SIGNUP_NUMBER).send("SKIP")
        assert reply.messages == ["OK, we won't verify your number now.", UNVERIFIED]


async def test_on_a_call_the_code_is_entered_on_the_keypad(url: str) -> None:
    async with Harness(build, database_url=url) as h:
        call = h.call(ME, SIGNUP_NUMBER)
        await call.start()
        reply = await call.press("1")
        assert "We've sent a code to …1111 by text message." in reply.body
        reply = await call.press(verify(h).code_for(ME))
        assert "You're signed up, there." in reply.body
        log = await h.store.log(f"voice:{call.sid}")
        assert verify(h).code_for(ME) not in str(log)


async def test_the_code_followed_by_the_pound_key_as_the_prompt_says(url: str) -> None:
    # Twilio posts the keys without the <Gather>'s finishOnKey; the fake call (chat,
    # transcripts) sent "123456#", and the right code was refused as wrong
    async with Harness(build, database_url=url) as h:
        call = h.call(ME, SIGNUP_NUMBER)
        await call.start()
        reply = await call.press("1")
        assert "Enter the code followed by the pound key" in reply.body
        reply = await call.press(verify(h).code_for(ME) + "#")
        assert "You're signed up, there." in reply.body


async def test_no_code_reaches_any_log_line(url: str, caplog: pytest.LogCaptureFixture) -> None:
    # Every logger at DEBUG (Twilio's client too: it logs requests there), through a wrong
    # code, a resend and the right one; the fake Twilio (test tooling) is the only one that
    # knows the code.
    caplog.set_level(logging.DEBUG)
    for name in ("twilio", "twilio.http_client", "switchboard.rest.http"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with Harness(build, database_url=url) as h:
        await _to_code(h)
        phone = h.phone(ME, SIGNUP_NUMBER)
        first_wrong = "192837" if verify(h).code_for(ME) != "192837" else "283746"
        await phone.send(first_wrong)
        await phone.send("NEW")
        code = verify(h).code_for(ME)
        assert (await phone.send(code)).messages[-1] == WELCOME
    shipped = [r for r in caplog.records if not r.name.startswith("bot.testing")]
    assert any(r.name.startswith("switchboard") for r in shipped)  # the logs were captured
    text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in shipped)
    leaks = [line for line in text.splitlines() if code in line or first_wrong in line]
    assert not leaks, leaks
