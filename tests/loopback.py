"""Helpers for tests that put a loopback proxy between the app and PostgreSQL."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["through"]


def through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by ``127.0.0.1:port`` (user and options kept)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))
