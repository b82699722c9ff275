"""The example app with the console on, on each backend, and an admin API client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from bot import Clock, Settings
from bot.testing import Harness
from flows import build
from storage.base import Store

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef0"
TOKENS = (("alice", ALICE), ("bob", BOB))
JSON = {"Content-Type": "application/json", "X-Switchboard-Console": "1"}


def console_app(settings: Settings, *, store: Store, clock: Clock) -> Quart:
    """The example app with two operators' tokens configured."""
    return build(replace(settings, console_tokens=TOKENS, console_poll=0.05), store=store,
                 clock=clock)  # fmt: skip


def path(key: str) -> str:
    return "/admin/api/conversations/" + quote(key, safe="")


@dataclass
class Api:
    """The admin API of a started harness, as operator ``token``."""

    harness: Harness
    token: str = ALICE

    @property
    def client(self) -> TestClientProtocol:
        assert self.harness.app is not None
        return self.harness.app.test_client()

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    async def get(self, url: str) -> tuple[int, Any]:
        response = await self.client.get(url, headers=self.headers())
        return response.status_code, await response.get_json()

    async def post(self, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        response = await self.client.post(url, json=body or {}, headers=self.headers(JSON))
        return response.status_code, await response.get_json()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def harness(database: str) -> AsyncIterator[Harness]:
    async with Harness(console_app, database_url=database) as started:
        yield started


@pytest.fixture
def api(harness: Harness) -> Api:
    return Api(harness)
