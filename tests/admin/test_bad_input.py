"""Input the attack run sent to the admin API: each is a clear 4xx saying what is wrong, never
a 500, and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.testing import Harness
from tests.admin.conftest import Api, console_app


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with Harness(console_app) as started:
        yield started


@pytest.mark.parametrize(
    "query", ["since=999999d", "idle=999999d", "since=99999999999999d", "since=" + "9" * 400 + "s"]
)
async def test_a_statistics_window_past_a_hundred_years_is_a_422_saying_the_limit(
    harness: Harness, query: str
) -> None:
    status, answer = await Api(harness).get(f"/admin/api/flows/support/stats?{query}")
    assert status == 422, answer
    name = query.partition("=")[0]
    assert answer["error"].startswith(f"{name}: ") and "36500d (100 years)" in answer["error"]


async def test_a_statistics_window_of_a_hundred_years_is_served(harness: Harness) -> None:
    status, answer = await Api(harness).get(
        "/admin/api/flows/support/stats?since=36500d&idle=5200w"
    )
    assert status == 200 and answer["started"] == 0
