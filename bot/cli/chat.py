"""``switchboard chat``: talk to any flow of an app in the terminal, without writing files.

By SMS, WhatsApp or a call, in process on a throw-away database with a fake clock and the
fake Twilio REST API (``bot.dev``), or against a running ``serve --dev`` (``--url``). The
session is :class:`bot.dev.chat.ChatSession`; this module reads the options, loads the app
as ``serve --app`` does, and runs the prompt (stdlib ``readline``: history and editing).
Errors before the prompt are one line and exit 2; Ctrl-D or ``/quit`` exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import sys

from quart import Quart

from bot.cli.common import Commands, fail
from bot.clock import Clock
from bot.dev.call import CallError
from bot.dev.chat import ChatError, ChatSession, Target
from bot.dev.harness import AppFactory
from bot.dev.remote import RemoteApp, RemoteError
from bot.errors import SwitchboardError
from bot.events.addresses import address
from bot.events.model import Channel
from bot.settings import BANNER_SHOWN, Settings
from bot.web.app import create_app, runtime_of
from storage.base import Store

__all__ = ["add_parser", "load_factory", "run"]


def add_parser(commands: Commands) -> None:
    """Register ``switchboard chat``."""
    chat = commands.add_parser(
        "chat", help="talk to a flow in the terminal: SMS, WhatsApp or a call (/help inside)"
    )
    chat.add_argument(
        "--app", default="app:app", help="the app, module:attribute (default app:app)"
    )
    chat.add_argument("--flow", default=None, help="talk to this flow (default: as the app routes)")
    chat.add_argument(
        "--channel", choices=[c.value for c in Channel], default="sms", help="default sms"
    )
    chat.add_argument("--from", dest="caller", default="+15550001111", help="your number")
    chat.add_argument("--to", default=None, help="our number (default: the first routed one)")
    chat.add_argument(
        "--database", default=None, help="database URL (default: a throw-away SQLite file)"
    )
    chat.add_argument(
        "--url", default=None, help="talk to a running `serve --dev` (http://127.0.0.1:8000)"
    )


def load_factory(spec: str) -> AppFactory:
    """The app factory for ``--app``: a factory itself (``flows:build``), or built again from
    an app's flows, routing and compliance (``app:app``) with chat's store, clock and Twilio."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(f"--app {spec!r}: use module:attribute (e.g. app:app)")
    if "" not in sys.path:
        sys.path.insert(0, "")  # the app module is found from the current directory, as serve's
    if "SWITCHBOARD_DEV" not in os.environ:  # importing app:app then needs no auth token;
        os.environ["SWITCHBOARD_DEV"] = "1"  # that app is only read, never served, so its
        os.environ[BANNER_SHOWN] = "1"  # dev-mode warnings (console open, ...) do not apply
    try:
        target = getattr(importlib.import_module(module), attr)
    except SwitchboardError:
        raise  # a flow that does not compile: already one clear line
    except Exception as exc:  # whatever importing the app raised: one line, no traceback
        raise ValueError(f"cannot load the app {spec!r}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(target, Quart):
        if callable(target):
            factory: AppFactory = target
            return factory
        raise ValueError(f"--app {spec!r} is neither an app nor an app factory")
    try:
        runtime = runtime_of(target)
    except (AttributeError, KeyError, TypeError) as exc:
        raise ValueError(f"--app {spec!r} is not a Switchboard app (create_app(...))") from exc
    engine = runtime.engine
    flows = [compiled.cls for compiled in engine.flows.values()]
    compliance = runtime.gate.compliance

    def rebuilt(settings: Settings, *, store: Store, clock: Clock) -> Quart:
        return create_app(
            flows, engine.router, settings, store=store, clock=clock, compliance=compliance
        )

    return rebuilt


def _session(args: argparse.Namespace) -> ChatSession:
    channel = Channel(args.channel)
    caller = address(args.caller, "--from")
    ours = address(args.to, "--to") if args.to else None
    if not caller.startswith("+") or (ours is not None and not ours.startswith("+")):
        raise ValueError("--from and --to are phone numbers in E.164 form, like +15550001111")
    target = Target(channel, caller, ours, args.flow)
    if args.url:
        if args.database or args.flow:
            raise ValueError("--url talks to a server: its own database and routing apply "
                             "(drop --database and --flow)")  # fmt: skip
        return ChatSession(target, remote=RemoteApp(args.url))
    return ChatSession(target, factory=load_factory(args.app), database_url=args.database)


def _prompt() -> None:
    # not on every platform (Windows): input() works without it
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())


def run(args: argparse.Namespace) -> int:
    """Run the chat until ``/quit`` or end of input."""
    try:
        session = _session(args)
    except (ValueError, SwitchboardError) as exc:
        return fail(str(exc))
    _prompt()
    # transitions logs each callback at INFO: noise between the lines of a chat
    logging.getLogger("transitions").setLevel(logging.WARNING)
    with asyncio.Runner() as loop:
        try:
            banner = loop.run(session.start())
        except (ChatError, CallError, RemoteError, SwitchboardError, ValueError, OSError) as exc:
            loop.run(session.stop())
            return fail(str(exc))
        try:
            print("\n".join(banner), flush=True)
            while not session.done:
                try:
                    line = input("you> ")
                except EOFError:
                    print()
                    break
                except KeyboardInterrupt:  # Ctrl-C drops the line being typed
                    print("^C")
                    continue
                for out in loop.run(session.handle(line)):
                    print(out)
                sys.stdout.flush()
        finally:
            loop.run(session.stop())
    return 0
