"""``switchboard send`` and ``switchboard outbox``: campaigns from a CSV, and delivery reports.

``switchboard send FLOW --from +1… --csv people.csv`` starts FLOW with every number in the
CSV (a ``to``/``phone``/``number`` column; the other columns become the conversation's data),
with a progress bar and a summary. A campaign id (by default derived from the flow, sender
and file contents) makes a rerun skip the numbers already started. Messages go through the
outbox: ``--wait`` sends them from this process; otherwise a running server sends them.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from bot.cli.common import Commands, add_database, database_url, run_async
from bot.errors import ConfigError
from bot.outbound.start import start_conversation
from bot.runtime import Runtime
from bot.settings import Settings
from storage.records import Purpose

__all__ = ["Summary", "add_parser", "read_recipients", "run"]

_ADDRESS = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")
_NUMBER_COLUMNS = ("to", "phone", "number", "mobile")


@dataclass
class Summary:
    """What a ``send`` run did."""

    started: int = 0
    skipped: int = 0  # already started by an earlier run of the same campaign
    invalid: list[str] = field(default_factory=list)
    processed: int = 0  # outbox messages handled by --wait
    statuses: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # the conversations started

    def lines(self) -> list[str]:
        out = [f"started {self.started}, already started {self.skipped}, "
               f"invalid {len(self.invalid)}"]  # fmt: skip
        out += [f"  started: {key}" for key in self.keys[:20]]
        if len(self.keys) > 20:
            out.append(f"  ... and {len(self.keys) - 20} more (switchboard conversations list)")
        out += [f"  invalid: {reason}" for reason in self.invalid[:20]]
        if len(self.invalid) > 20:
            out.append(f"  ... and {len(self.invalid) - 20} more")
        if self.statuses:
            shown = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
            out.append(f"outbox after sending: {shown}")
        return out


def read_recipients(
    rows: Iterable[dict[str, str]], column: str | None
) -> tuple[list[tuple[str, dict[str, str]]], list[str]]:
    """(address, data) per valid row, and a reason per invalid row (with its line number)."""
    good, bad = [], []
    for line, row in enumerate(rows, start=2):
        name = column or next((c for c in _NUMBER_COLUMNS if c in row), None)
        if name is None or name not in row:
            raise ValueError(f"the CSV has no {column or '/'.join(_NUMBER_COLUMNS)} column")
        address = (row.get(name) or "").strip().replace(" ", "").replace("-", "")
        if not _ADDRESS.match(address):
            bad.append(f"line {line}: {row.get(name)!r} is not an E.164 number")
            continue
        good.append((address, {k: v for k, v in row.items() if k != name and k}))
    return good, bad


class Progress:
    """A one-line progress bar on ``stream`` (stderr)."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.total = max(self.total, self.done)  # more sent than started (a flow's 2nd text)
        width = 30
        filled = width * self.done // max(1, self.total)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def add_parser(commands: Commands) -> None:
    """Register ``switchboard send``."""
    send = commands.add_parser("send", help="start a flow with numbers (a CSV or --to)")
    send.add_argument("flow", help="the flow to start, e.g. appointments")
    send.add_argument(
        "--from", dest="from_", required=True, help="our number (+1… or whatsapp:+1…)"
    )
    send.add_argument("--to", action="append", default=[], help="a recipient (repeatable)")
    send.add_argument("--csv", type=Path, help="CSV with a to/phone/number column and data")
    send.add_argument("--column", help="the CSV column holding the numbers")
    send.add_argument("--campaign", help="campaign id (default: from flow, sender and file)")
    send.add_argument(
        "--runtime",
        default="flows:runtime",
        help="function of Settings returning the Runtime to start flows on (default flows:runtime)",
    )
    add_database(send)
    send.add_argument("--wait", action="store_true", help="send the messages from here too")
    send.add_argument(
        "--purpose",
        choices=[Purpose.CAMPAIGN.value, Purpose.REMINDER.value, Purpose.START.value],
        default=Purpose.CAMPAIGN.value,
        help="campaign (default) and reminder messages wait for the recipient's daytime; "
        "start is transactional and goes at once",
    )


def _campaign(args: argparse.Namespace, content: str) -> str:
    if args.campaign:
        return str(args.campaign)
    digest = hashlib.sha256(f"{args.flow}\n{args.from_}\n{content}".encode()).hexdigest()
    return f"{args.flow}-{digest[:12]}"


def _runtime(args: argparse.Namespace) -> Runtime:
    """The runtime ``--runtime`` builds, on ``--database`` when given (no web app; the
    process's environment is left as it was)."""
    env = dict(os.environ)
    if not env.get("TWILIO_AUTH_TOKEN"):
        if args.wait:
            raise ConfigError(
                "--wait sends through Twilio from here: set TWILIO_ACCOUNT_SID and "
                "TWILIO_AUTH_TOKEN, or drop --wait and let a running `switchboard serve` "
                "(--dev: its fake Twilio) send what is queued"
            )
        env["SWITCHBOARD_DEV"] = "1"  # queueing serves no webhook: no signature to check
    settings = replace(Settings.from_env(env), database_url=database_url(args))
    module, sep, name = args.runtime.partition(":")
    if not sep:
        raise ValueError(f"--runtime {args.runtime!r}: use module:function, e.g. flows:runtime")
    factory = getattr(importlib.import_module(module), name)
    runtime: Runtime = factory(settings)
    return runtime


async def _send(args: argparse.Namespace) -> int:
    if not _ADDRESS.match(args.from_):  # else a conversation keyed on garbage, queued
        raise ValueError(
            f"--from {args.from_!r} is not one of our numbers in E.164 form: give +15550100000 "
            "or whatsapp:+15550100000"
        )
    content = args.csv.read_text("utf-8-sig") if args.csv else ""
    rows = list(csv.DictReader(content.splitlines())) if content else []
    recipients, invalid = read_recipients(rows, args.column) if rows else ([], [])
    more, bad = read_recipients(({"to": t} for t in args.to), "to")
    recipients, summary = recipients + more, Summary(invalid=invalid + bad)
    campaign = _campaign(args, content + "\n".join(args.to))
    runtime = _runtime(args)
    engine = runtime.engine
    await runtime.store.open()
    try:
        progress = Progress("starting", len(recipients))
        for address, data in recipients:
            outcome = await start_conversation(
                engine, args.flow, address, from_=args.from_, data=data,
                start_id=f"{campaign}:{address}", purpose=Purpose(args.purpose),
            )  # fmt: skip
            if outcome.started:
                summary.keys.append(outcome.key)
            summary.started += outcome.started
            summary.skipped += not outcome.started
            progress.advance()
        if args.wait:
            await _wait(runtime, summary)
    finally:
        await runtime.stop()
    print(f"campaign {campaign}")
    print("\n".join(summary.lines()))
    if not args.wait:
        print("queued in the outbox: a running `switchboard serve` sends them (or use --wait)")
    return 0 if not summary.invalid else 1


async def _wait(runtime: Runtime, summary: Summary) -> None:
    outbox = runtime.outbox
    if outbox.sender is None:
        raise ValueError("--wait needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or an API key)")
    progress = Progress("sending", summary.started)
    while done := await outbox.run_once():
        summary.processed += done
        progress.advance(done)
    for row in await runtime.store.delivery_report("flow"):
        for status, count in row.by_status.items():
            summary.statuses[status] = summary.statuses.get(status, 0) + count


run = run_async(_send)
