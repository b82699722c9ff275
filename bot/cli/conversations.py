"""``switchboard conversations``: list, show and act on conversations from a terminal.

The same code path as the admin API (:class:`bot.admin.Operations`, built by the runtime):
every action takes the conversation's lock and the store's version guard (PostgreSQL's
advisory lock across processes) and is audit-logged under ``--as`` (default: ``$USER``).

    switchboard conversations list [--state S] [--flow F] [--number N] [--status stuck]
    switchboard conversations show KEY
    switchboard conversations move KEY STATE [--run-callbacks]
    switchboard conversations reset KEY | end KEY
    switchboard conversations timers KEY [--cancel NAME | --fire NAME]
    switchboard conversations outbox MESSAGE_ID (--retry | --cancel)
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import os
from typing import Any

from bot.admin import Operations
from bot.admin.views import conversation_json, cursor_of, detail_json, search_from
from bot.cli.common import Commands, fail, require_database, run_async
from bot.runtime import Runtime
from bot.settings import Settings

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands) -> None:
    """Register ``switchboard conversations``."""
    parser = commands.add_parser("conversations", help="list, show and fix live conversations")
    parser.add_argument("--database", help="database URL (default: from env)")
    parser.add_argument(
        "--runtime", default="flows:runtime",
        help="function of Settings returning the Runtime (default flows:runtime)",
    )  # fmt: skip
    parser.add_argument("--as", dest="operator", help="operator name in the audit log ($USER)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="conversations, newest first")
    for name in ("flow", "state", "channel", "number", "cursor"):
        listing.add_argument(f"--{name}")
    listing.add_argument("--status", choices=("open", "closed", "stuck", "all"), default="all")
    listing.add_argument("--stuck-minutes", default="60", help="idle time that counts as stuck")
    listing.add_argument("--limit", default="50")
    sub.add_parser("show", help="one conversation and its timeline").add_argument("key")
    move = sub.add_parser("move", help="put a conversation in another state")
    move.add_argument("key")
    move.add_argument("state")
    move.add_argument("--run-callbacks", action="store_true", help="run on_enter_<state>")
    reset = sub.add_parser(
        "reset", help="back to the (outermost flow's) initial state, data emptied, stack dropped"
    )
    reset.add_argument("key")
    reset.add_argument("--run-callbacks", action="store_true")
    sub.add_parser("end", help="close a conversation where it is").add_argument("key")
    timers = sub.add_parser("timers", help="a conversation's timers; cancel or fire one")
    timers.add_argument("key")
    group = timers.add_mutually_exclusive_group()
    group.add_argument("--cancel", metavar="NAME")
    group.add_argument("--fire", metavar="NAME")
    outbox = sub.add_parser("outbox", help="retry or cancel an outbox message")
    outbox.add_argument("message")
    what = outbox.add_mutually_exclusive_group(required=True)
    what.add_argument("--retry", action="store_true")
    what.add_argument("--cancel", action="store_true")


def _runtime(args: argparse.Namespace) -> Runtime:
    # This command answers no webhooks: it needs no Twilio auth token to check signatures.
    # never create a database: a SQLite file that is not there is one line, not a new file
    env = {**os.environ, "SWITCHBOARD_DEV": "1", "SWITCHBOARD_DATABASE_URL": require_database(args)}
    module, _, name = args.runtime.partition(":")
    factory = getattr(importlib.import_module(module), name)
    runtime: Runtime = factory(Settings.from_env(env))
    return runtime


def _line(c: dict[str, Any]) -> str:
    status = "closed" if c["closed"] else "open"
    return f"{c['key']:<44} {c['flow']:<14} {c['state']:<16} {status:<6} v{c['version']:<4} " + (
        c["updated_at"] or ""
    )


def _print_detail(detail: dict[str, Any]) -> None:
    c = detail["conversation"]
    print(_line(c))
    print(f"data: {json.dumps(c['data'], ensure_ascii=False)}")
    print(f"consent: {detail['consent'] or 'not recorded'}")
    for t in detail["timers"]:
        print(f"timer {t['name']} -> {t['trigger']} at {t['due_at']}")
    if len(detail["stack"]) > 1:  # inside a subflow: its callers, outermost first
        frames = [f"{f['flow']}.{f['state']}" for f in detail["stack"]]
        print("call stack: " + " > ".join(frames))
    for item in detail["timeline"]:
        at = (item["at"] or "")[:19]
        if item["type"] == "operator":
            after = item["after"]
            print(f"{at}  * {item['operator']} {item['action']} -> {after.get('state', after)}")
        elif item["type"] == "outbox":
            shown = item["delivery"] or item["status"]
            error = f" ({item['error']})" if item["error"] else ""
            # the id `switchboard outbox --message ID` takes: nothing else prints it
            print(f"{at}  < [{shown}] {item['body']}{error}  {item['id']}")
        elif item["type"] == "consent":
            print(f"{at}  ! consent {item['status']} ({item['source']}: {item['detail']})")
        elif item["type"] == "timer":
            why = f" ({item['reason']})" if item["reason"] else ""
            print(f"{at}  ~ timer {item['name']} {item['event']}{why}")
        else:
            arrow = ">" if item["direction"] == "in" else "<"
            print(f"{at}  {arrow} {item['body'] or '(' + item['kind'] + ')'}")


async def _act(ops: Operations, args: argparse.Namespace, who: str) -> dict[str, Any] | None:
    """Run the action; what to print (``None``: already printed)."""
    if args.action == "move":
        done = await ops.move(args.key, who, args.state, run_callbacks=args.run_callbacks)
    elif args.action == "reset":
        done = await ops.reset(args.key, who, run_callbacks=args.run_callbacks)
    elif args.action == "end":
        done = await ops.end(args.key, who)
    elif args.action == "timers" and (args.cancel or args.fire):
        fn = ops.cancel_timer if args.cancel else ops.fire_timer
        done = await fn(args.key, who, args.cancel or args.fire)
    elif args.action == "timers":
        return {"timers": detail_json(await ops.show(args.key))["timers"]}
    else:
        fn2 = ops.retry_outbox if args.retry else ops.cancel_outbox
        message = await fn2(args.message, who)
        return {"message": {"id": message.id, "status": message.status, "error": message.error}}
    return {"conversation": conversation_json(done)}


async def _conversations(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    ops = runtime.admin
    if ops is None:
        return fail("this runtime's store cannot run the admin queries")
    who = args.operator or os.environ.get("USER") or getpass.getuser()
    await runtime.store.open()
    try:
        if args.action == "list":
            query = {k: str(v) for k, v in vars(args).items() if v is not None}
            query["stuck_minutes"] = args.stuck_minutes
            found = await ops.search(search_from(query, runtime.clock.now()))
            limit = search_from(query, runtime.clock.now()).limit
            out: dict[str, Any] = {"conversations": [conversation_json(c) for c in found]}
            out["next"] = cursor_of(found[-1]) if len(found) == limit else None
        elif args.action == "show":
            out = detail_json(await ops.show(args.key))
        else:
            out = await _act(ops, args, who) or {}
        _print(out, args)
        return 0
    finally:
        await runtime.store.close()


def _none_match(args: argparse.Namespace) -> str:
    """The one line of an empty list, naming the filters that matched nothing."""
    given = [(n, getattr(args, n)) for n in ("flow", "state", "channel", "number", "cursor")]
    if args.status != "all":
        given.append(("status", args.status))
    shown = " ".join(f"--{name} {value}" for name, value in given if value is not None)
    return f"no conversations match {shown}" if shown else "no conversations recorded"


def _print(out: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    elif "timeline" in out:
        _print_detail(out)
    elif "conversations" in out:
        for c in out["conversations"]:
            print(_line(c))
        if not out["conversations"]:
            print(_none_match(args))
        if out["next"]:
            print(f"more: --cursor {out['next']}")
    elif "conversation" in out:
        print(_line(out["conversation"]))
    elif "timers" in out:
        for t in out["timers"]:
            print(f"{t['name']:<28} {t['trigger']:<14} {t['due_at']}  state {t['state'] or '-'}")
    else:
        m = out["message"]
        print(f"{m['id']} {m['status']}" + (f" ({m['error']})" if m["error"] else ""))


run = run_async(_conversations)
