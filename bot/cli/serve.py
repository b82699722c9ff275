"""``switchboard serve``: run Hypercorn on the app (uvloop when installed), its workers
supervised (:mod:`bot.cli.supervise`: a worker that dies is restarted).

Settings given as options are passed to the app through the same environment variables it
reads in production; they are checked once here, and the schema once, before any worker starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack, closing
from functools import partial
from typing import Any

from bot.cli.common import Commands
from bot.cli.db import check_schema
from bot.cli.devserve import dev_environment
from bot.cli.supervise import BUILD_FAILED, Supervisor
from bot.settings import BANNER_SHOWN

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands) -> None:
    """Register ``switchboard serve``."""
    serve = commands.add_parser("serve", help="serve the webhook with Hypercorn")
    serve.add_argument("--app", default="app:app", help="ASGI app to serve (default app:app)")
    serve.add_argument("--host", default=None, help="address to bind (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument(
        "--workers", type=int, default=1,
        help="worker processes, restarted when one dies (default 1; 0: serve in this process)",
    )  # fmt: skip
    serve.add_argument("--database", default=None, help="database URL (sqlite:///file.db)")
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every request to stdout (off by default: it costs ~10%% of throughput)",
    )
    serve.add_argument(
        "--dev",
        action="store_true",
        help="local development: bind 127.0.0.1, accept unsigned requests without a token, "
        "log every step, and let `switchboard dev clock` move the clock",
    )
    serve.add_argument(
        "--reload",
        action="store_true",
        help="restart the workers when a .py file of the app's project changes (development)",
    )


_WORKER_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "switchboard": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        # dictConfig resets the level of a configured logger's children: restate the quiet
        # ones (the SDK's request dumps; transitions' per-callback INFO lines).
        "switchboard.rest.http": {"level": "WARNING"},
        "transitions": {"level": "WARNING"},
    },
}


def run(args: argparse.Namespace) -> int:
    """Run the supervised Hypercorn workers; 0 after a clean stop, non-zero (one line on
    stderr) when the configuration, the schema or the app is broken, or workers keep dying."""
    from hypercorn.config import Config

    from bot.errors import ConfigError
    from bot.observe.build import prepare_multiprocess
    from bot.observe.logs import with_format
    from bot.settings import Settings

    if args.reload and args.workers == 0:
        print("switchboard: --reload restarts worker processes: use --workers 1 (the default)",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.database:
        os.environ["SWITCHBOARD_DATABASE_URL"] = args.database
    if args.dev:
        os.environ["SWITCHBOARD_DEV"] = "1"
    try:
        settings = Settings.from_env()  # fail here, once, rather than in every worker
    except ConfigError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    if not check_schema(settings.database_url):  # once, before any worker starts
        return 2
    host = args.host or ("127.0.0.1" if args.dev else "0.0.0.0")
    if args.dev and host not in {"127.0.0.1", "localhost", "::1"}:
        print("switchboard: --dev only binds to 127.0.0.1 (or localhost)", file=sys.stderr)
        return 2
    if not settings.verify_signatures:
        print(
            "switchboard: DEV MODE - webhook signatures are NOT verified. "
            "Do not expose this server to the internet.",
            file=sys.stderr,
        )
    elif args.dev:
        print(
            "switchboard: dev mode with TWILIO_AUTH_TOKEN set: webhook signatures ARE checked "
            "(unset TWILIO_AUTH_TOKEN to accept unsigned requests locally)",
            file=sys.stderr,
        )
    if settings.dev and not settings.console_tokens:
        print(
            "switchboard: DEV MODE - the console (/console) and admin API are open without a "
            "token on this address",
            file=sys.stderr,
        )
    os.environ[BANNER_SHOWN] = "1"  # the workers need not say it again, once each
    config = Config()
    config.application_path = args.app
    config.bind = [f"{host}:{args.port}"]
    config.workers = args.workers
    config.accesslog = "-" if args.access_log else None
    # Hypercorn's workers are spawned processes: without this, Switchboard's own INFO
    # records (version conflicts, consent changes) never reach their stderr.
    # SWITCHBOARD_LOG_FORMAT=json|text and SWITCHBOARD_LOG_MASK (bot.observe.logs)
    config.logconfig_dict = with_format(_WORKER_LOGGING, settings.observe)
    if importlib.util.find_spec("uvloop") is not None:
        config.worker_class = "uvloop"
    # metrics on: every worker writes its values where any worker's scrape sums them (set
    # before the app is first imported here, so prometheus_client starts in that mode)
    cleanup = prepare_multiprocess(os.environ)
    try:
        with ExitStack() as extras:
            if settings.dev:
                url = f"http://{'[::1]' if host == '::1' else host}:{args.port}"
                for line in extras.enter_context(dev_environment(os.environ, url, settings)):
                    print(f"switchboard: {line}", file=sys.stderr)
            return _serve(args, config, extras)
    finally:
        cleanup()


def _serve(args: argparse.Namespace, config: Any, extras: ExitStack) -> int:
    """Check the app builds, then serve it: in this process, or supervised workers."""
    from hypercorn.run import run

    shadow = _shadowing(args.app)
    if shadow is not None or not _app_builds(args.app):  # once, not a loop of dying workers
        if shadow is not None:
            print(f"switchboard: cannot build the app {args.app}: {shadow}", file=sys.stderr)
        return 2
    if args.workers == 0:  # served in this process: nothing to supervise
        return run(config)
    changes = None
    if args.reload:
        from bot.cli.reload import Watcher, watched_root

        changes = extras.enter_context(closing(Watcher(watched_root(args.app))))
        print(f"switchboard: reloading when a .py file under {changes.root} changes",
              file=sys.stderr)  # fmt: skip
    worker = _worker_function(config.worker_class)
    if changes is not None:  # a broken edit: one line per try, not a worker's traceback
        worker = partial(_built_worker, worker)
    return Supervisor(config, worker, changes=changes).run()


def _built_worker(worker: Callable[..., None], **kwargs: Any) -> None:
    """``worker``, once the app builds; else exit :data:`BUILD_FAILED` after one line
    (``--reload``)."""
    if not _app_builds(kwargs["config"].application_path):
        sys.exit(BUILD_FAILED)  # the supervisor waits for the next change, not retries
    worker(**kwargs)


def _app_builds(path: str) -> bool:
    """Whether the ASGI app at ``path`` imports and builds; one line on stderr if not."""
    from hypercorn.utils import load_application

    try:
        load_application(path, 16 * 1024 * 1024)
    except Exception as exc:
        hint = ""
        if type(exc).__name__ == "NoAppError":  # hypercorn's: no such module, or attribute
            hint = " Run this from your project's directory, or pass --app package.module:app"
        print(f"switchboard: cannot build the app {path}: {type(exc).__name__}: "
              f"{str(exc).splitlines()[0] if str(exc) else ''}{hint}", file=sys.stderr)  # fmt: skip
        return False
    return True


def _shadowing(path: str) -> str | None:
    """Why the workers would import a project's own ``bot`` or ``storage`` instead of
    Switchboard's, else ``None``.

    Hypercorn puts the app module's directory first on ``sys.path``; this process imported
    Switchboard before that, so only a worker (a fresh process) meets the shadow, and dies.
    """
    from importlib.machinery import PathFinder
    from pathlib import Path

    parts = path.split(":")
    module = parts[1] if len(parts) == 3 else parts[0]  # [asgi:]module[:app]
    where = str(Path(module).resolve().parent)
    for name in ("bot", "storage"):
        spec = PathFinder.find_spec(name, [where])
        ours = getattr(sys.modules.get(name), "__file__", None)
        if spec is None or spec.origin is None or ours is None:  # namespace dirs never shadow
            continue
        if Path(spec.origin).resolve() != Path(ours).resolve():
            return (
                f"{spec.origin} is a package named {name!r}, which shadows Switchboard's own; "
                "rename yours (switchboard new never uses bot, storage or flows)"
            )
    return None


def _worker_function(worker_class: str) -> Callable[..., None]:
    if worker_class == "uvloop":
        from hypercorn.asyncio.run import uvloop_worker

        return uvloop_worker
    from hypercorn.asyncio.run import asyncio_worker

    return asyncio_worker
