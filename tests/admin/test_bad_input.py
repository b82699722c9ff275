"""Input the attack run sent to the admin API: each is a clear 4xx saying what is wrong, never
a 500, and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest

from bot.testing import Harness
from tests.admin.conftest import JSON, Api, console_app, path


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


KEY = "sms:+15550100000:+15550001111"


async def _unchanged_after(harness: Harness, raw: str) -> tuple[int, str]:
    """Post ``raw`` (JSON text, as sent) to edit the data of a conversation; its status and
    error, after checking that nothing was written: the data and the audit log as before."""
    await harness.phone("+15550001111").send("hi")
    before = await harness.store.conversation(KEY)
    api = Api(harness)
    response = await api.client.post(path(KEY) + "/data", data=raw, headers=api.headers(JSON))
    after = await harness.store.conversation(KEY)
    assert before is not None and after == before
    assert (await api.get("/admin/api/audit"))[1]["audit"] == []
    return response.status_code, (await response.get_json())["error"]


@pytest.mark.parametrize("levels", [1100, 990, 99])
async def test_data_nested_too_deep_is_a_400_and_nothing_is_written(
    harness: Harness, levels: int
) -> None:
    """1100 levels were a RecursionError from json.loads (a 500); 990 parse, and were the
    same RecursionError later, deeper in the stack, when storing them."""
    status, error = await _unchanged_after(
        harness, '{"data": {"x": ' + "[" * levels + "]" * levels + "}}"
    )
    assert status == 400 and error.startswith("the request body nests deeper than 100 levels")


async def test_data_just_inside_the_depth_limit_is_saved(harness: Harness) -> None:
    deep: list[Any] = []
    for _ in range(97):  # the body, "data" and "x" are the other three levels
        deep = [deep]
    await harness.phone("+15550001111").send("hi")
    status, body = await Api(harness).post(path(KEY) + "/data", {"data": {"x": deep}})
    assert status == 200 and body["conversation"]["data"] == {"x": deep}


@pytest.mark.parametrize(
    "raw", ['{"data": {"x": "\\ud800"}}', '{"data": {"\\udc00": 1}}',
            '{"data": {"x": ["ok", {"y": "caf\\u00e9 \\udfff"}]}, "version": 1}'],
)  # fmt: skip
async def test_a_lone_surrogate_is_a_400_and_nothing_is_written(harness: Harness, raw: str) -> None:
    """``"\\ud800"`` is valid JSON, but decodes to a str no UTF-8 encoder takes: storing it
    was a UnicodeEncodeError (a 500)."""
    status, error = await _unchanged_after(harness, raw)
    assert status == 400 and "half of a surrogate pair" in error and "U+D" in error


@pytest.mark.parametrize(
    "url", ["/admin/api/handoffs/{key}/take_over", "/admin/api/conversations/{key}/move",
            "/admin/api/conversations/{key}/timers/t/cancel", "/admin/api/outbox/OB1/retry"],
)  # fmt: skip
async def test_every_action_reads_its_body_through_the_same_checks(
    harness: Harness, url: str
) -> None:
    await harness.phone("+15550001111").send("hi")
    api, target = Api(harness), url.format(key=quote(KEY, safe=""))
    deep = '{"reason": ' + "[" * 1100 + "]" * 1100 + "}"
    for raw, words in (('{"reason": "\\ud800", "state": "menu"}', "surrogate"),
                       (deep, "nests deeper")):  # fmt: skip
        response = await api.client.post(target, data=raw, headers=api.headers(JSON))
        assert response.status_code == 400 and words in (await response.get_json())["error"]
    assert (await api.get("/admin/api/audit"))[1]["audit"] == []
    assert (await api.get("/admin/api/handoffs"))[1]["handoffs"] == []
