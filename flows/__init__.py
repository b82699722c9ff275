"""The example flows that ship with the app, and ``build``, the app factory for them."""

from __future__ import annotations

from quart import Quart

from bot import Clock, Flow, Router, Settings, create_app
from flows.support import SupportFlow
from storage import Store

__all__ = ["EXAMPLE_FLOWS", "SupportFlow", "build", "example_router"]

EXAMPLE_FLOWS: list[type[Flow]] = [SupportFlow]


def example_router() -> Router:
    """Every number answers with the example flows: the support menu for messages."""
    return Router(default="support")


def build(settings: Settings, *, store: Store | None = None, clock: Clock | None = None) -> Quart:
    """The example app for ``settings`` (tests pass their own store and clock)."""
    return create_app(EXAMPLE_FLOWS, example_router(), settings, store=store, clock=clock)
