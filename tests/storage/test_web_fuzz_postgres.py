"""The webhook fuzz of tests/test_web_fuzz.py on PostgreSQL: never a 500, never a 503.

PostgreSQL refuses some text SQLite takes (U+0000); whatever the webhook accepts must be
storable there too, so any signed form is answered 200/204 or a clear 4xx on both backends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.testing import Harness
from bot.testing.databases import drop_schema, with_options
from flows import build
from tests.test_web_fuzz import BASE, changes


@pytest.fixture(scope="module")
def running(postgres_url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, Harness]]:
    schema = f"sb_test_{uuid.uuid4().hex[:16]}"
    loop = asyncio.new_event_loop()
    harness = Harness(build, database_url=with_options(postgres_url, schema=schema))
    loop.run_until_complete(harness.__aenter__())
    yield loop, harness
    loop.run_until_complete(harness.__aexit__(None, None, None))
    loop.close()
    drop_schema(postgres_url, schema)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drop=st.sets(st.sampled_from([k for k, _ in BASE])), extra=changes)
def test_random_parameters_never_answer_5xx_on_postgres(
    running: tuple[asyncio.AbstractEventLoop, Harness], drop: set[str], extra: list[tuple[str, str]]
) -> None:
    loop, harness = running
    params = [(k, v) for k, v in BASE if k not in drop] + extra
    for path in ("/twilio", "/twilio/status"):
        reply = loop.run_until_complete(harness.post(path, params))
        assert reply.status < 500, (path, params, reply.status, reply.body)
        assert "Traceback" not in reply.body
