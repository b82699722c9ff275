"""The ``switchboard`` command.

``switchboard serve`` runs Hypercorn on ``app:app`` (uvloop when installed); settings given as
options are passed to the app through the same environment variables it reads in production.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence

from bot.cli import consent as consent_cli
from bot.cli.send import OUTBOUND_COMMANDS, add_outbound_parsers

__all__ = ["main"]


def _serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="serve the webhook with Hypercorn")
    serve.add_argument("--app", default="app:app", help="ASGI app to serve (default app:app)")
    serve.add_argument("--host", default=None, help="address to bind (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--database", default=None, help="database URL (sqlite:///file.db)")
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every request to stdout (off by default: it costs ~10%% of throughput)",
    )
    serve.add_argument(
        "--dev",
        action="store_true",
        help="local development: bind 127.0.0.1 and accept unsigned requests without a token",
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


def serve(args: argparse.Namespace) -> int:
    """Run Hypercorn; returns its exit code."""
    from hypercorn.config import Config
    from hypercorn.run import run

    from bot.errors import ConfigError
    from bot.settings import Settings

    if args.database:
        os.environ["SWITCHBOARD_DATABASE_URL"] = args.database
    if args.dev:
        os.environ["SWITCHBOARD_DEV"] = "1"
    try:
        settings = Settings.from_env()  # fail here, once, rather than in every worker
    except ConfigError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    from bot.cli.db import check_schema

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
    config = Config()
    config.application_path = args.app
    config.bind = [f"{host}:{args.port}"]
    config.workers = args.workers
    config.accesslog = "-" if args.access_log else None
    # Hypercorn's workers are spawned processes: without this, Switchboard's own INFO
    # records (version conflicts, consent changes) never reach their stderr.
    config.logconfig_dict = _WORKER_LOGGING
    if importlib.util.find_spec("uvloop") is not None:
        config.worker_class = "uvloop"
    return run(config)


def _diagram_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diagram = commands.add_parser("diagram", help="print a flow as a Mermaid state diagram")
    diagram.add_argument("flow", help="the flow's name")
    diagram.add_argument(
        "--flows", default="flows:EXAMPLE_FLOWS", help="module:attribute listing the flow classes"
    )


def diagram(args: argparse.Namespace) -> int:
    """Print the named flow's Mermaid diagram."""
    from bot.flow.diagram import mermaid

    module, _, attr = args.flows.partition(":")
    flows = getattr(importlib.import_module(module), attr)
    found = [flow for flow in flows if flow.name == args.flow]
    if not found:
        names = ", ".join(sorted(flow.name for flow in flows))
        print(f"switchboard: no flow named {args.flow!r} (known: {names})", file=sys.stderr)
        return 2
    print(mermaid(found[0]))
    return 0


def _export_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser("export", help="print a stored conversation as a transcript")
    export.add_argument("key", help="conversation key, e.g. sms:+15550100000:+15550001111")
    export.add_argument("--database", default=None, help="database URL (default: from env)")


def export(args: argparse.Namespace) -> int:
    """Print the stored conversation ``args.key`` as a transcript."""
    import asyncio

    from bot.export.transcript import to_transcript
    from storage.url import open_store

    url = args.database or os.environ.get("SWITCHBOARD_DATABASE_URL", "sqlite:///switchboard.db")

    async def run() -> int:
        store = open_store(url, auto_migrate=False)
        await store.open()
        try:
            conversation = await store.conversation(args.key)
            if conversation is None:
                print(f"switchboard: no conversation {args.key!r} in {url}", file=sys.stderr)
                return 2
            print(to_transcript(conversation, await store.log(args.key)), end="")
            return 0
        finally:
            await store.close()

    return asyncio.run(run())


def _db_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="show or upgrade the database schema")
    verbs = db.add_subparsers(dest="verb", required=True)
    for verb, text in [
        ("upgrade", "apply the migrations the database lacks (safe from several hosts at once)"),
        ("status", "show the schema version; exit 1 unless it is this code's"),
    ]:
        sub = verbs.add_parser(verb, help=text)
        sub.add_argument(
            "--database", default=None, help="database URL (default SWITCHBOARD_DATABASE_URL)"
        )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``switchboard`` command."""
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_parser(commands)
    _diagram_parser(commands)
    _export_parser(commands)
    consent_cli.add_parser(commands)
    _db_parser(commands)
    add_outbound_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    if args.command == "db":
        from bot.cli.db import db

        return db(args)
    handlers = {
        "serve": serve,
        "diagram": diagram,
        "export": export,
        "consent": consent_cli.run,
        **OUTBOUND_COMMANDS,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
