"""Pick a store backend from a database URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bot.errors import ConfigError
from storage.base import Store
from storage.sqlite import SQLiteStore

__all__ = ["open_store"]


def open_store(url: str, *, auto_migrate: bool = True) -> Store:
    """A (not yet opened) store for ``url``.

    ``sqlite:///relative.db``, ``sqlite:////absolute/path.db``, ``sqlite://:memory:``;
    ``?synchronous=full`` makes every commit survive power loss, not only a process crash.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.netloc if parts.netloc == ":memory:" else parts.path.removeprefix("/")
        if not path:
            raise ConfigError(f"database URL {url!r} names no file: use sqlite:///switchboard.db")
        sync = parse_qs(parts.query).get("synchronous", ["normal"])[0].upper()
        if sync not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ConfigError(f"synchronous={sync!r} in {url!r}: use normal or full")
        return SQLiteStore(path, auto_migrate=auto_migrate, synchronous=sync)
    if parts.scheme in {"postgres", "postgresql"}:
        raise ConfigError("the PostgreSQL backend is not available in this build")
    raise ConfigError(f"database URL {url!r}: use sqlite:///file.db or postgresql://…")
