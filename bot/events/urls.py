"""The URLs the framework writes into voice TwiML, all pointing back to our webhook.

``webhook`` is the public URL Twilio called (``https://hooks.example.com/twilio``), so the
action URLs validate when Twilio signs them: the query string is plain ASCII written in a
fixed order and never re-encoded on the way back.
"""

from __future__ import annotations

__all__ = ["action_url", "status_url"]


def action_url(webhook: str, step: int | None, via: str, hold: int = 0) -> str:
    """``<webhook>?step=N&on=gather`` (``&hold=K`` for the K-th redirect back after holding)."""
    query = ([f"step={step}"] if step is not None else []) + [f"on={via}"]
    if hold:
        query.append(f"hold={hold}")
    return f"{webhook}?{'&'.join(query)}"


def status_url(webhook: str) -> str:
    """Where recording and transcription callbacks go: ``<webhook>/status``."""
    return webhook.rstrip("/") + "/status"
