"""The engine: one event → one step of its conversation, screened, stored, rendered."""

from __future__ import annotations

from bot.engine.engine import DEFAULT_APOLOGY, Engine

__all__ = ["DEFAULT_APOLOGY", "Engine"]
