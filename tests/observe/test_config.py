"""Observability settings: read from the environment, bad values refused by name, the
multiprocess directory `switchboard serve` prepares for its workers, and the durations the
statistics take."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from bot.errors import ConfigError
from bot.observe.build import build_observer, prepare_multiprocess
from bot.observe.config import MAX_DURATION, ObserveSettings, parse_duration
from bot.settings import Settings


def test_off_by_default_and_read_from_the_environment() -> None:
    assert ObserveSettings.from_env({}) == ObserveSettings()
    settings = Settings.from_env({
        "SWITCHBOARD_DEV": "1", "SWITCHBOARD_METRICS": "1", "SWITCHBOARD_METRICS_TOKEN": "s3cret",
        "SWITCHBOARD_LOG_FORMAT": "JSON", "SWITCHBOARD_LOG_MASK": "0",
    })  # fmt: skip
    observe = settings.observe
    assert (observe.metrics, observe.metrics_token, observe.log_format, observe.log_mask) == (
        True, "s3cret", "json", False,
    )  # fmt: skip
    assert "s3cret" not in repr(observe)
    observer = build_observer(observe, store=None)
    assert observer.metrics is not None and observer.tracing is None and observer.log_turns


@pytest.mark.parametrize(
    ("name", "value"), [("SWITCHBOARD_LOG_FORMAT", "xml"), ("SWITCHBOARD_TRACE_CONTENT", "all")]
)
def test_bad_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        ObserveSettings.from_env({name: value})


def test_serve_gives_workers_a_fresh_directory_and_removes_it() -> None:
    env: dict[str, str] = {"SWITCHBOARD_METRICS": "1"}
    cleanup = prepare_multiprocess(env)
    folder = env["PROMETHEUS_MULTIPROC_DIR"]
    assert os.path.isdir(folder) and not os.listdir(folder)
    cleanup()
    assert not os.path.exists(folder) and "PROMETHEUS_MULTIPROC_DIR" not in env
    given = {"SWITCHBOARD_METRICS": "1", "PROMETHEUS_MULTIPROC_DIR": "/somewhere"}
    prepare_multiprocess(given)()
    assert given["PROMETHEUS_MULTIPROC_DIR"] == "/somewhere"
    off: dict[str, str] = {}
    prepare_multiprocess(off)()
    assert off == {}


def test_a_duration_is_at_most_a_hundred_years() -> None:
    assert parse_duration(" 2W ") == timedelta(weeks=2)
    assert parse_duration("36500d") == MAX_DURATION == timedelta(days=36500)
    for text in ("36501d", "999999d", "99999999999999d", "9" * 400 + "s"):
        with pytest.raises(ValueError, match=r"longer than the longest duration, 36500d"):
            parse_duration(text)
