"""The example app with two operators, on SQLite and PostgreSQL (as tests/admin)."""

from __future__ import annotations

from tests.admin.conftest import Api, api, database, harness

__all__ = ["Api", "api", "database", "harness"]
