"""Pick a store backend from a database URL (``SWITCHBOARD_DATABASE_URL``).

``sqlite:///relative.db``, ``sqlite:////absolute/path.db``, ``sqlite://:memory:``
    ``?synchronous=full`` makes every commit survive power loss, not only a process crash.
``postgresql://user:password@host:5432/database``
    ``?schema=name`` keeps the tables in that schema; ``pool_min``/``pool_max`` size the
    connection pool (default 1/10); ``lock_timeout`` is how many seconds a turn waits for a
    conversation another process is stepping (default 10); ``connect_timeout`` bounds one
    connection attempt (default 5 s) and ``statement_timeout`` one statement (default 10 s,
    on the server and on the client). Other query parameters are passed
    to the server as settings (e.g. ``application_name``), as libpq would.
Both take ``?migrate=auto`` (apply missing migrations at start) or ``?migrate=check``
(refuse to start until ``switchboard db upgrade`` ran). SQLite defaults to ``auto``: one
file, usually one process, nothing to operate. PostgreSQL defaults to ``check``: schema
changes on a shared database are an operator's deliberate step.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from storage.errors import ConfigError
from storage.protocols import Store

__all__ = ["open_store", "redact", "sqlite_path"]

_MIGRATE = {"auto": True, "check": False}


# libpq's (and asyncpg's) sslmode values, strictest last
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

_SECRET_OPTIONS = frozenset({"password", "passwd", "pass", "secret", "token", "sslpassword"})


def redact(url: str) -> str:
    """``url`` with every password replaced by ``***`` (for logs, errors and command output):
    the one after ``user:`` and any ``?password=`` (or other secret) option. Never raises,
    even on a URL that does not parse."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable database URL>"
    userinfo, at, hostport = parts.netloc.rpartition("@")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret_option = any(name.lower() in _SECRET_OPTIONS for name, _ in pairs)
    if not secret_option and not (at and ":" in userinfo):
        return url  # nothing to hide: as given (urlunsplit would rewrite sqlite:////abs)
    if at and ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":***"
    hidden = [(n, "***" if n.lower() in _SECRET_OPTIONS else v) for n, v in pairs]
    query = urlencode(hidden, safe="*") if secret_option else parts.query
    return urlunsplit(parts._replace(netloc=userinfo + at + hostport, query=query))


def _check_port(url: str) -> None:
    """One clear :class:`ConfigError` for a port that is not a number from 1 to 65535."""
    try:
        port = urlsplit(url).port
    except ValueError as exc:
        raise ConfigError(
            f"database URL {redact(url)!r}: the port must be a number from 1 to 65535"
        ) from exc
    if port == 0:
        raise ConfigError(f"database URL {redact(url)!r}: the port must be from 1 to 65535")


def _number(url: str, name: str, raw: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} in {redact(url)!r} must be a number") from exc
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} in {redact(url)!r} must be positive")
    return value


def _migrate(url: str, options: dict[str, str], default: bool) -> bool:
    raw = options.pop("migrate", None)
    if raw is None:
        return default
    if raw not in _MIGRATE:
        raise ConfigError(f"migrate={raw!r} in {redact(url)!r}: use auto or check")
    return _MIGRATE[raw]


def sqlite_path(url: str) -> str | None:
    """The file an ``sqlite:`` URL names (``:memory:`` for a private one); None for others."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return None
    path = parts.netloc if parts.netloc == ":memory:" else parts.path.removeprefix("/")
    if not path:
        raise ConfigError(
            f"database URL {redact(url)!r} names no file: use sqlite:///switchboard.db"
        )
    return path


def _sqlite(url: str, auto_migrate: bool | None) -> Store:
    from storage.sqlite import SQLiteStore  # aiosqlite: loaded when a SQLite URL is opened

    options = dict(parse_qsl(urlsplit(url).query))
    path = sqlite_path(url) or ""
    sync = options.pop("synchronous", "normal").upper()
    if sync not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ConfigError(f"synchronous={sync!r} in {redact(url)!r}: use normal or full")
    migrate = _migrate(url, options, True) if auto_migrate is None else auto_migrate
    if options:
        raise ConfigError(f"unknown option(s) {sorted(options)} in {redact(url)!r}")
    return SQLiteStore(path, auto_migrate=migrate, synchronous=sync)


def _postgres(url: str, auto_migrate: bool | None) -> Store:
    from storage.postgres import PostgresStore  # asyncpg is the optional `postgres` extra

    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    migrate = _migrate(url, options, False) if auto_migrate is None else auto_migrate
    sslmode = options.get("sslmode")
    if sslmode is not None and sslmode not in _SSLMODES:
        raise ConfigError(f"sslmode={sslmode!r} in {redact(url)!r}: use {', '.join(_SSLMODES)}")
    schema = options.pop("schema", None)
    pool_min = int(_number(url, "pool_min", options.pop("pool_min", "1"), int))
    pool_max = int(_number(url, "pool_max", options.pop("pool_max", "10"), int))
    lock_timeout = _number(url, "lock_timeout", options.pop("lock_timeout", "10"), float)
    connect = _number(url, "connect_timeout", options.pop("connect_timeout", "5"), float)
    statement = _number(url, "statement_timeout", options.pop("statement_timeout", "10"), float)
    dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(options)))
    return PostgresStore(
        dsn, schema=schema, auto_migrate=migrate, pool_min=pool_min, pool_max=pool_max,
        lock_timeout_s=lock_timeout, connect_timeout_s=connect, statement_timeout_s=statement,
    )  # fmt: skip


def open_store(url: str, *, auto_migrate: bool | None = None) -> Store:
    """A (not yet opened) store for ``url``; ``auto_migrate`` overrides the URL's choice."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError as exc:  # e.g. an unbalanced IPv6 bracket
        raise ConfigError(f"database URL {redact(url)!r} does not parse: {exc}") from exc
    if scheme in {"postgres", "postgresql"}:
        _check_port(url)
    if scheme == "sqlite":
        return _sqlite(url, auto_migrate)
    if scheme in {"postgres", "postgresql"}:
        try:
            return _postgres(url, auto_migrate)
        except ImportError as exc:
            raise ConfigError(
                "PostgreSQL needs asyncpg: pip install 'switchboard[postgres]'"
            ) from exc
    raise ConfigError(f"database URL {redact(url)!r}: use sqlite:///file.db or postgresql://…")
