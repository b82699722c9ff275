"""The outbox lease and poll interval are settings; a lease too short to send safely is refused."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.outbound.config import OutboundSettings


def test_lease_and_poll_come_from_the_environment() -> None:
    settings = OutboundSettings.from_env(
        {"SWITCHBOARD_OUTBOX_LEASE_SECONDS": "60", "SWITCHBOARD_OUTBOX_POLL_SECONDS": "0.5"}
    )
    assert (settings.lease_seconds, settings.poll_seconds) == (60.0, 0.5)
    assert OutboundSettings.from_env({}).lease_seconds == 120.0


def test_a_lease_shorter_than_four_rest_timeouts_is_refused() -> None:
    """A send may start 3/4 into the lease: it must end before another worker may claim it."""
    with pytest.raises(ConfigError, match=r"LEASE_SECONDS \(30\) must be at least 4 x"):
        OutboundSettings.from_env({"SWITCHBOARD_OUTBOX_LEASE_SECONDS": "30"})
    ok = {"SWITCHBOARD_OUTBOX_LEASE_SECONDS": "3", "SWITCHBOARD_REST_TIMEOUT": "0.75"}
    assert OutboundSettings.from_env(ok).lease_seconds == 3.0
    with pytest.raises(ConfigError, match="must be positive"):
        OutboundSettings.from_env({"SWITCHBOARD_OUTBOX_POLL_SECONDS": "0"})
