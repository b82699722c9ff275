"""The web layer: reading and verifying Twilio's requests, and the Quart app."""

from __future__ import annotations

from bot.web.app import create_app, runtime_of, web_app

__all__ = ["create_app", "runtime_of", "web_app"]
