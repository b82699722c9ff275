"""The dev clock: the wall clock plus an offset that only moves forward, shared by the
workers of one dev server through a file; production runs on the wall clock (issue 11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ShiftedClock, SystemClock
from bot.observe.config import ObserveSettings
from bot.settings import Settings
from flows import runtime


def test_it_runs_ahead_of_the_wall_clock_by_what_was_advanced() -> None:
    clock = ShiftedClock()
    moved = clock.advance(timedelta(hours=2))
    assert clock.offset == timedelta(hours=2)
    assert abs(moved - datetime.now(UTC) - timedelta(hours=2)) < timedelta(seconds=5)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(timedelta(minutes=-1))
    assert clock.offset == timedelta(hours=2)


def test_it_refuses_to_go_past_the_year_9999_and_stays_where_it_was() -> None:
    """Advanced 100 years at a time it overflowed, and every ``now()`` after raised."""
    clock = ShiftedClock()
    for _ in range(79):
        clock.advance(timedelta(days=36500))
    before = clock.offset
    with pytest.raises(ValueError, match="past the year 9999"):
        clock.advance(timedelta(days=36500))
    assert clock.offset == before and clock.now().year > 9000


def test_workers_share_one_time_line_through_the_file(tmp_path: Path) -> None:
    shared = tmp_path / "clock"
    one, other = ShiftedClock(shared), ShiftedClock(shared)
    assert other.offset == timedelta(0)  # nothing advanced yet: no file
    one.advance(timedelta(hours=1))
    assert other.offset == timedelta(hours=1)
    other.advance(timedelta(minutes=30))
    assert one.offset == timedelta(hours=1, minutes=30)
    restarted = ShiftedClock(shared)  # a worker --reload started again
    assert restarted.offset == timedelta(hours=1, minutes=30)


def test_only_a_dev_runtime_has_a_clock_that_moves(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    dev = runtime(Settings(dev=True, database_url=url))
    production = runtime(Settings(auth_token="t" * 32, database_url=url))
    assert isinstance(dev.clock, ShiftedClock)
    assert isinstance(production.clock, SystemClock)


def test_turn_lines_show_content_in_dev_only() -> None:
    dev = ObserveSettings.from_env({"SWITCHBOARD_DEV": "1"})
    assert dev.log_turns and dev.log_content
    hidden = ObserveSettings.from_env({"SWITCHBOARD_DEV": "1", "SWITCHBOARD_LOG_TURNS": "0"})
    assert not hidden.log_turns
    production = ObserveSettings.from_env({"SWITCHBOARD_LOG_TURNS": "1"})
    assert production.log_turns and not production.log_content
    assert not ObserveSettings.from_env({}).log_turns


async def test_a_production_app_has_no_dev_routes() -> None:
    from bot.testing import Harness
    from flows import build

    async with Harness(build) as h:
        client = h.app.test_client() if h.app else None
        assert client is not None
        for method in ("GET", "POST"):
            answer = await client.open("/dev/clock", method=method, json={"advance": "2h"})
            assert answer.status_code == 404


def test_the_dev_environment_points_workers_at_the_fake_and_is_undone() -> None:
    from bot.cli.devserve import dev_environment
    from bot.dev.dev_twilio import DEV_ACCOUNT_SID

    lone = "AC" + "5" * 32  # an account without a token or key: no credentials
    env = {"TWILIO_ACCOUNT_SID": lone, "SWITCHBOARD_STATUS_CALLBACK_URL": "http://mine/status"}
    with dev_environment(env, "http://127.0.0.1:8000", Settings(dev=True)) as lines:
        inside = dict(env)
    assert inside["TWILIO_ACCOUNT_SID"] == DEV_ACCOUNT_SID and "TWILIO_AUTH_TOKEN" not in inside
    assert inside["TWILIO_API_KEY_SID"].startswith("SK") and inside["TWILIO_API_KEY_SECRET"]
    assert inside["SWITCHBOARD_TWILIO_API_URL"].startswith("http://127.0.0.1:")
    assert inside["SWITCHBOARD_STATUS_CALLBACK_URL"] == "http://mine/status"  # theirs, kept
    assert inside["TWILIO_VERIFY_SERVICE_SID"].startswith("VA")  # the fake's Verify
    assert Path(inside["SWITCHBOARD_DEV_CLOCK_FILE"]).parent.is_dir() is False  # removed after
    assert env == {
        "TWILIO_ACCOUNT_SID": lone,
        "SWITCHBOARD_STATUS_CALLBACK_URL": "http://mine/status",
    }
    assert lines[0].startswith("outbound: no Twilio credentials, so the built-in fake Twilio")
    assert inside["TWILIO_API_KEY_SECRET"] not in "\n".join(lines)
    mine = {"TWILIO_VERIFY_SERVICE_SID": "VA" + "7" * 32}  # a developer's own service: kept
    with dev_environment(mine, "http://127.0.0.1:8000", Settings(dev=True)):
        assert mine["TWILIO_VERIFY_SERVICE_SID"] == "VA" + "7" * 32
