"""Whatever parameters arrive, signed, the webhook answers 200 or a clear 4xx: never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.testing import Harness
from flows import build

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
def running() -> Iterator[tuple[asyncio.AbstractEventLoop, Harness]]:
    loop = asyncio.new_event_loop()
    harness = Harness(build)
    loop.run_until_complete(harness.__aenter__())
    yield loop, harness
    loop.run_until_complete(harness.__aexit__(None, None, None))
    loop.close()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drop=st.sets(st.sampled_from([k for k, _ in BASE])), extra=changes)
def test_random_parameters_never_answer_500(
    running: tuple[asyncio.AbstractEventLoop, Harness], drop: set[str], extra: list[tuple[str, str]]
) -> None:
    loop, harness = running
    params = [(k, v) for k, v in BASE if k not in drop] + extra
    for path in ("/twilio", "/twilio/status"):
        reply = loop.run_until_complete(harness.post(path, params))
        assert reply.status < 500, (path, params, reply.status, reply.body)
        assert "Traceback" not in reply.body
