"""Settings are checked when built; the CLI refuses to serve unsafely."""

from __future__ import annotations

import pytest

from bot import ConfigError, Settings
from bot.cli import main
from storage import SQLiteStore, open_store


def test_no_token_and_no_dev_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="switchboard serve --dev"):
        Settings.from_env({})


def test_dev_mode_runs_without_a_token_and_does_not_verify() -> None:
    settings = Settings.from_env({"SWITCHBOARD_DEV": "1"})
    assert not settings.verify_signatures


def test_the_token_never_shows_in_repr() -> None:
    settings = Settings.from_env({"TWILIO_AUTH_TOKEN": "s3cret-token"})
    assert "s3cret-token" not in repr(settings)
    assert settings.verify_signatures


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SWITCHBOARD_PUBLIC_URL": "hooks.example.com"}, "must look like"),
        ({"SWITCHBOARD_MAX_BODY_BYTES": "lots"}, "whole number"),
        ({"SWITCHBOARD_MAX_BODY_BYTES": "10"}, "at least 1024"),
        ({"SWITCHBOARD_TRUSTED_PROXIES": "10.0.0.0/99"}, "SWITCHBOARD_TRUSTED_PROXIES"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"TWILIO_AUTH_TOKEN": "t", **env})


def test_serve_without_a_token_exits_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("SWITCHBOARD_DEV", raising=False)
    assert main(["serve"]) == 2
    assert "TWILIO_AUTH_TOKEN is not set" in capsys.readouterr().err


def test_dev_mode_refuses_a_public_bind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("SWITCHBOARD_DEV", "")
    assert main(["serve", "--dev", "--host", "0.0.0.0"]) == 2
    assert "only binds to 127.0.0.1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url, path",
    [("sqlite:///switchboard.db", "switchboard.db"), ("sqlite:////tmp/x.db", "/tmp/x.db")],
)
def test_sqlite_urls(url: str, path: str) -> None:
    store = open_store(url)
    assert isinstance(store, SQLiteStore) and store.path == path


@pytest.mark.parametrize("url", ["mysql://x", "sqlite://", "sqlite:///x.db?synchronous=maybe"])
def test_bad_database_urls_are_named(url: str) -> None:
    with pytest.raises(ConfigError):
        open_store(url)
