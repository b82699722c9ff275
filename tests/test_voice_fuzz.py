"""Whatever a voice request carries, signed, the webhook answers 200/204 or a clear 4xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.testing import Harness
from flows import build
from tests.fuzzing import Running, assert_no_server_error, started

KNOWN = [
    "From", "To", "CallSid", "CallStatus", "Digits", "SpeechResult", "Confidence",
    "DialCallStatus", "DialCallDuration", "RecordingUrl", "RecordingDuration", "RecordingSid",
    "RecordingStatus", "TranscriptionStatus", "TranscriptionText", "TranscriptionSid",
    "SequenceNumber", "Direction",
]  # fmt: skip
BASE = [("CallSid", "CA" + "f" * 32), ("From", "+15550001111"), ("To", "+15550100000"),
        ("CallStatus", "in-progress"), ("Direction", "inbound")]  # fmt: skip
PATHS = [
    "/twilio", "/twilio?step=1&on=gather", "/twilio?step=2&on=record", "/twilio?step=3&on=dial",
    "/twilio?step=1&on=redirect", "/twilio?step=1&on=gather&hold=1", "/twilio?on=call&hold=2",
    "/twilio?step=0&on=gather", "/twilio?on=gather", "/twilio?step=1&on=x", "/twilio/status",
]  # fmt: skip
SAMPLES = ["", "0", "1", "#", "*9#", "hangup", "-1", "²", "١", "nan", "inf", "1.5", "0.42",
           "completed", "busy", "no-answer", "ringing", "failed", "anonymous", "CA" + "0" * 32,
           "RE" + "1" * 32]  # fmt: skip
values = st.one_of(st.text(max_size=20), st.sampled_from(SAMPLES))
changes = st.lists(
    st.tuples(st.sampled_from(KNOWN) | st.text(min_size=1, max_size=8), values), max_size=6
)


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with started(Harness(build)) as app:
        yield app


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    drop=st.sets(st.sampled_from([k for k, _ in BASE])),
    extra=changes,
    path=st.sampled_from(PATHS),
)
def test_random_voice_requests_never_answer_500(
    running: Running,
    drop: set[str],
    extra: list[tuple[str, str]],
    path: str,
) -> None:
    params = [(k, v) for k, v in BASE if k not in drop] + extra
    assert_no_server_error(running, path, params)
