"""Observability: the hook the engine and the outbox worker call, and what it feeds.

``hooks`` holds :class:`~bot.observe.hooks.Observer` (a no-op unless given parts) and the
per-turn probe; ``metrics`` the Prometheus metrics (multiprocess-safe), ``tracing`` the
OpenTelemetry spans (optional extra), ``logs`` the JSON/text log formats and phone masking,
``build`` assembles an observer from the environment. Nothing here imports the web layer.
"""

from __future__ import annotations

__all__: list[str] = []
