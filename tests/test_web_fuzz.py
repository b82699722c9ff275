"""Whatever parameters arrive, signed, the webhook answers 200 or a clear 4xx: never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.testing import Harness
from flows import build
from tests.fuzzing import Running, assert_no_server_error, started

KNOWN = [
    "From", "To", "Body", "MessageSid", "SmsSid", "NumMedia", "MediaUrl0", "MediaContentType0",
    "Latitude", "Longitude", "ButtonText", "ButtonPayload", "ProfileName", "WaId", "OptOutType",
    "CallSid", "Digits", "SpeechResult", "Confidence", "CallStatus", "RecordingUrl",
    "MessageStatus", "ErrorCode", "SequenceNumber",
]  # fmt: skip
BASE = [("From", "+15550001111"), ("To", "+15550100000"), ("Body", "hi"), ("MessageSid", "SM1")]

values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "1", "11", "-1", "²", "١", "nan", "whatsapp:+1", "messenger:x"]),
    st.sampled_from(["+15550001111", "whatsapp:+15550001111", "STOP", "start", "help", "1e9"]),
)
changes = st.lists(
    st.tuples(st.sampled_from(KNOWN) | st.text(min_size=1, max_size=8), values), max_size=8
)


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with started(Harness(build)) as app:
        yield app


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drop=st.sets(st.sampled_from([k for k, _ in BASE])), extra=changes)
def test_random_parameters_never_answer_500(
    running: Running, drop: set[str], extra: list[tuple[str, str]]
) -> None:
    params = [(k, v) for k, v in BASE if k not in drop] + extra
    for path in ("/twilio", "/twilio/status"):
        assert_no_server_error(running, path, params)
