"""Issue 15: Twilio Verify through the real ``twilio`` client against the fake Verify API.

Each of Twilio's documented errors (60200, 60202, 60203, 60205, 60212, 60223, 20404 for an
expired code) is answered by the fake as Twilio does and mapped to its documented outcome;
our own per-number limit holds across two verifiers on one database (two instances).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.compliance.config import Compliance
from bot.compliance.gate import Gate
from bot.dev.clock import FakeClock
from bot.dev.fake_twilio import FakeTwilio
from bot.flow.verification import VerifyChannel, VerifyOutcome
from bot.outbound.config import Credentials
from bot.outbound.rest import TwilioRest
from bot.outbound.verify import TwilioVerify
from bot.outbound.verify_config import VerifyConfig
from storage import Store, open_store
from storage.records import ConsentChange, ConsentSource, ConsentStatus

SERVICE = "VA" + "0" * 32
ME = "+15550001111"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(clock=FakeClock().now) as twilio:
        yield twilio


def verifier(fake: FakeTwilio, store: Store, clock: FakeClock, **config: float) -> TwilioVerify:
    fake.verify.clock = clock.now
    rest = TwilioRest(Credentials.from_env(fake.credentials()), timeout=5)
    settings = VerifyConfig(service_sid=SERVICE, **config)  # type: ignore[arg-type]
    return TwilioVerify(rest, settings, store, Gate(store, Compliance()), clock)


async def close(v: TwilioVerify) -> None:
    api = v.api
    assert isinstance(api, TwilioRest)
    await api.close()


async def test_a_code_is_sent_and_approved(fake: FakeTwilio, store: Store) -> None:
    v = verifier(fake, store, FakeClock())
    sent = await v.send(ME, VerifyChannel.SMS)
    assert sent.ok and fake.verify.sends == [(ME, "sms")]
    wrong = "000000" if fake.verify.code_for(ME) != "000000" else "111111"
    assert (await v.check(ME, wrong)).outcome is VerifyOutcome.PENDING
    assert (await v.check(ME, fake.verify.code_for(ME))).approved
    assert (await v.check(ME, fake.verify.code_for(ME))).outcome is VerifyOutcome.EXPIRED  # 20404
    await close(v)


async def test_a_resend_is_the_same_code_and_a_call_fallback_too(
    fake: FakeTwilio, store: Store
) -> None:
    v = verifier(fake, store, FakeClock())
    await v.send(ME, VerifyChannel.SMS)
    code = fake.verify.code_for(ME)
    assert (await v.send(ME, VerifyChannel.CALL)).ok
    assert fake.verify.code_for(ME) == code and fake.verify.sends[-1] == (ME, "call")
    await close(v)


async def test_an_expired_code_is_expired(fake: FakeTwilio, store: Store) -> None:
    clock = FakeClock()
    v = verifier(fake, store, clock)
    await v.send(ME, VerifyChannel.SMS)
    code = fake.verify.code_for(ME)
    clock.advance(timedelta(minutes=11))
    checked = await v.check(ME, code)
    assert (checked.outcome, checked.code) == (VerifyOutcome.EXPIRED, 20404)
    await close(v)


async def test_max_check_attempts_is_60202(fake: FakeTwilio, store: Store) -> None:
    v = verifier(fake, store, FakeClock())
    await v.send(ME, VerifyChannel.SMS)
    wrong = "999999" if fake.verify.code_for(ME) != "999999" else "111111"
    for _ in range(5):
        assert (await v.check(ME, wrong)).outcome is VerifyOutcome.PENDING
    checked = await v.check(ME, fake.verify.code_for(ME))
    assert (checked.outcome, checked.code) == (VerifyOutcome.CHECKS_EXHAUSTED, 60202)
    await close(v)


async def test_max_send_attempts_is_60203(fake: FakeTwilio, store: Store) -> None:
    v = verifier(fake, store, FakeClock(), max_sends=10)
    for _ in range(5):
        assert (await v.send(ME, VerifyChannel.SMS)).ok
    sent = await v.send(ME, VerifyChannel.SMS)
    assert (sent.outcome, sent.code) == (VerifyOutcome.SENDS_EXHAUSTED, 60203)
    await close(v)


@pytest.mark.parametrize(
    ("setup", "to", "channel", "code", "outcome"),
    [
        ("", "12345", VerifyChannel.SMS, 60200, VerifyOutcome.INVALID),
        ("landline", ME, VerifyChannel.SMS, 60205, VerifyOutcome.LANDLINE),
        ("busy", ME, VerifyChannel.SMS, 60212, VerifyOutcome.BUSY),
        ("disabled", ME, VerifyChannel.WHATSAPP, 60223, VerifyOutcome.CHANNEL_DISABLED),
    ],
)
async def test_twilio_errors_map_to_documented_outcomes(
    fake: FakeTwilio, store: Store, setup: str, to: str, channel: VerifyChannel, code: int,
    outcome: VerifyOutcome,
) -> None:  # fmt: skip
    {"landline": fake.verify.landlines, "busy": fake.verify.busy}.get(setup, set()).add(ME)
    if setup == "disabled":
        fake.verify.disabled.add("whatsapp")
    v = verifier(fake, store, FakeClock())
    sent = await v.send(to, channel)
    assert (sent.outcome, sent.code) == (outcome, code)
    await close(v)


async def test_a_landline_gets_its_code_by_call(fake: FakeTwilio, store: Store) -> None:
    fake.verify.landlines.add(ME)
    v = verifier(fake, store, FakeClock())
    assert (await v.send(ME, VerifyChannel.CALL)).ok
    await close(v)


async def test_our_limit_holds_across_two_instances_on_one_database(
    fake: FakeTwilio, store: Store, url: str
) -> None:
    clock = FakeClock()
    other_store = open_store(url)
    await other_store.open()
    first = verifier(fake, store, clock, max_sends=2)
    second = verifier(fake, other_store, clock, max_sends=2)
    assert (await first.send(ME, VerifyChannel.SMS)).ok
    assert (await second.send(ME, VerifyChannel.SMS)).ok
    assert (await first.send(ME, VerifyChannel.SMS)).outcome is VerifyOutcome.RATE_LIMITED
    assert len(fake.verify.sends) == 2  # the refused one never reached Verify
    clock.advance(timedelta(minutes=16))
    assert (await second.send(ME, VerifyChannel.SMS)).ok  # a new window
    await close(first)
    await close(second)
    await other_store.close()


async def test_an_opted_out_person_gets_no_code_by_message(fake: FakeTwilio, store: Store) -> None:
    clock, ours = FakeClock(), "+15550100000"
    await store.record_consent(
        ConsentChange(ME, ours, ConsentStatus.OPTED_OUT, ConsentSource.KEYWORD, clock.now())
    )
    v = verifier(fake, store, clock)
    assert (await v.send(ME, VerifyChannel.SMS, ours=ours)).outcome is VerifyOutcome.OPTED_OUT
    assert (await v.send(ME, VerifyChannel.CALL, ours=ours)).ok  # a call is not a message
    assert fake.verify.sends == [(ME, "call")]
    await close(v)


async def test_without_our_number_an_opt_out_in_any_scope_counts(
    fake: FakeTwilio, store: Store
) -> None:
    """Regression (guarantees under attack, 2026-11-24): ``send`` without ``ours`` read the
    person's consent in the empty scope, where nobody is ever opted out, and sent the code."""
    clock = FakeClock()
    opted_out = ConsentChange(
        ME, "+15550100000", ConsentStatus.OPTED_OUT, ConsentSource.KEYWORD, clock.now()
    )
    await store.record_consent(opted_out)
    v = verifier(fake, store, clock)
    assert (await v.send(ME, VerifyChannel.SMS)).outcome is VerifyOutcome.OPTED_OUT
    assert (await v.send("whatsapp:" + ME, VerifyChannel.WHATSAPP)).outcome is (
        VerifyOutcome.OPTED_OUT
    )
    assert fake.verify.sends == []
    await close(v)


async def test_unauthenticated_requests_are_refused(fake: FakeTwilio, store: Store) -> None:
    v = verifier(fake, store, FakeClock())
    fake.auth_token = "changed"  # after the client read its credentials
    sent = await v.send(ME, VerifyChannel.SMS)
    assert sent.outcome is VerifyOutcome.UNAVAILABLE and sent.code == 20003
    await close(v)
