"""Rate limits and the REST concurrency cap, measured against the fake API (short runs).

The 30-second measurement is a benchmark: bench/outbox_throughput.py.
"""

from __future__ import annotations

import pytest

from bot.dev.fake_twilio import rate
from bot.outbound.config import OutboundSettings
from bot.outbound.ratelimit import RateLimits, TokenBucket, number_type
from bot.outbound.rest import TwilioRest
from tests.outbound.conftest import OURS, make_harness

FAST = dict.fromkeys(("long_code", "toll_free", "short_code", "whatsapp"), 1e6)


async def test_the_sender_rate_is_kept_and_never_exceeded() -> None:
    settings = OutboundSettings(worker=False, rates={OURS: 25.0}, default_rates=FAST)
    async with make_harness(outbound_settings=settings) as h:
        for i in range(40):
            await h.phone(f"+1555001{i:04d}").send("hi")
            await h.phone(f"+1555001{i:04d}").send("ping")
        await h.drain()
        assert h.twilio is not None
        sent = h.twilio.sent()
    assert len(sent) == 40
    measured = rate(sent)
    # server-side timestamps: the first request also pays for opening the connection
    assert 25 * 0.9 <= measured <= 25 * 1.05, measured
    times = [m.accepted_at for m in sent]
    for i in range(len(times) - 25):  # any 26 consecutive sends span 1 s
        assert times[i + 25] - times[i] >= 0.94  # 1 s less the server's timestamp jitter


async def test_the_concurrency_cap_holds() -> None:
    settings = OutboundSettings(worker=False, default_rates=FAST, max_concurrency=3)
    async with make_harness(outbound_settings=settings) as h:
        for i in range(10):
            await h.phone(f"+1555002{i:04d}").send("hi")
            await h.phone(f"+1555002{i:04d}").send("ping")
        assert h.twilio is not None
        h.twilio.fail_next(delay=0.1, create_anyway=True, times=10)  # slow, but successful
        await h.drain()
        assert len(h.twilio.sent()) == 10
        rest = h.runtime.outbox.sender
        assert isinstance(rest, TwilioRest) and rest.peak_in_flight == 3


@pytest.mark.parametrize(
    ("sender", "kind"),
    [
        ("+15550100000", "long_code"), ("+18005550100", "toll_free"), ("+18885550100", "toll_free"),
        ("12345", "short_code"), ("whatsapp:+15550100000", "whatsapp"),
        ("MG" + "0" * 32, "messaging_service"), ("+447700900000", "long_code"),
    ],
)  # fmt: skip
def test_number_types(sender: str, kind: str) -> None:
    assert number_type(sender) == kind


def test_default_rates_by_number_type_and_overrides() -> None:
    limits = RateLimits({"+15550100000": 5.0})
    assert limits.rate_for("+15550100000") == 5.0
    assert limits.rate_for("+15550100001") == 1.0
    assert limits.rate_for("+18005550100") == 3.0
    assert limits.rate_for("12345") == 100.0


def test_bucket_slots_are_spaced_by_the_rate() -> None:
    bucket = TokenBucket(10.0, margin=0)
    waits = [bucket.reserve(now=100.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert bucket.reserve(now=101.0) == 0.0  # idle time is not saved up beyond the burst
    assert bucket.reserve(now=101.0) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        TokenBucket(0)
    assert TokenBucket(10.0).interval == pytest.approx(0.101)  # 1 % under the rate by default


def test_a_stall_delays_sends_but_does_not_let_them_burst_afterwards() -> None:
    bucket = TokenBucket(10.0, margin=0, slack=0.05)
    assert bucket.reserve(now=0.0) == 0.0
    bucket.granted(0.5)  # the loop stalled: the send happened 0.5 s after its slot
    assert bucket.reserve(now=0.5) == pytest.approx(0.1)  # not at once: a full interval later
    bucket.granted(0.6 + 0.03)  # late within the slack: the cadence is kept
    assert bucket.reserve(now=0.63) == pytest.approx(0.07)
