"""The webhook fuzz of tests/test_web_fuzz.py on PostgreSQL: never a 500, never a 503.

PostgreSQL refuses some text SQLite takes (U+0000); whatever the webhook accepts must be
storable there too, so any signed form is answered 200/204 or a clear 4xx on both backends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.testing import Harness
from bot.testing.databases import drop_schema, with_options
from flows import build
from tests.fuzzing import Running, assert_no_server_error, started
from tests.test_web_fuzz import BASE, changes


@pytest.fixture(scope="module")
def running(postgres_url: str) -> Iterator[Running]:
    schema = f"sb_test_{uuid.uuid4().hex[:16]}"
    try:
        with started(Harness(build, database_url=with_options(postgres_url, schema=schema))) as app:
            yield app
    finally:
        drop_schema(postgres_url, schema)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drop=st.sets(st.sampled_from([k for k, _ in BASE])), extra=changes)
def test_random_parameters_never_answer_5xx_on_postgres(
    running: Running, drop: set[str], extra: list[tuple[str, str]]
) -> None:
    params = [(k, v) for k, v in BASE if k not in drop] + extra
    for path in ("/twilio", "/twilio/status"):
        assert_no_server_error(running, path, params)
