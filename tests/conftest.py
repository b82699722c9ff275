"""Shared fixtures: the example app in process, with a fake clock and a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.testing import Harness
from flows import build


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with Harness(build) as started:
        yield started
