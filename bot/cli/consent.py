"""``switchboard consent``: read and change the consent ledger from the command line.

    switchboard consent history +15550001111
    switchboard consent opt-out +15550100000 +15550001111 --detail "asked by phone"
    switchboard consent opt-in  +15550100000 +15550001111
    switchboard consent import opt-outs.csv

Changes are recorded with source ``operator`` (``import`` for files); the scope comes from
``--compliance FILE.json`` (a number's Messaging Service), else the number itself. An import
file is CSV with a header row ``ours,person,status[,detail]`` (status ``opted_out`` or
``opted_in``); it is checked completely before anything is written. Numbers are checked as
the webhook checks ``From`` and ``To`` (E.164 normalised, ``whatsapp:``, short codes): a
change filed under ``hello`` or ``15550001111`` is one no conversation would ever find.
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.common import Commands, add_database, opened_store, run_async
from bot.compliance.config import Compliance
from bot.compliance.consent import set_consent
from bot.errors import BadRequest
from bot.events.addresses import address
from bot.events.model import strip_channel
from storage.records import OPTED_IN, OPTED_OUT

__all__ = ["add_parser", "run"]

Row = tuple[str, str, bool, str]


def add_parser(commands: Commands) -> None:
    """Register ``switchboard consent …``."""
    consent = commands.add_parser("consent", help="read or change the consent ledger")
    add_database(consent)  # before the verb, or after it as every other command takes it
    consent.add_argument("--compliance", default=None, help="compliance JSON (for scopes)")
    verbs = consent.add_subparsers(dest="verb", required=True)
    history = verbs.add_parser("history", help="every change for a person")
    history.add_argument("person")
    add_database(history)
    for verb in ("opt-out", "opt-in"):
        change = verbs.add_parser(verb, help=f"record an {verb} made by an operator")
        change.add_argument("ours", help="our number (E.164)")
        change.add_argument("person", help="the person's number (E.164)")
        change.add_argument("--detail", default="", help="why, who, reference")
        add_database(change)
    imported = verbs.add_parser("import", help="record changes from a CSV file")
    imported.add_argument("file")
    add_database(imported)


def _number(raw: str, what: str) -> str:
    """``raw`` normalised as the webhook keys it; :class:`ValueError` saying what is wrong."""
    try:
        return address(raw.strip(), what)
    except BadRequest as exc:
        raise ValueError(str(exc)) from None


def read_rows(path: Path) -> list[Row]:
    """The import file's rows; :class:`ValueError` naming the first bad line."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"ours", "person", "status"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: the header must name ours,person,status[,detail]")
        rows = []
        for line, record in enumerate(reader, start=2):
            status = (record.get("status") or "").strip()
            ours, person = (record.get("ours") or "").strip(), (record.get("person") or "").strip()
            if status not in (OPTED_OUT, OPTED_IN) or not ours or not person:
                raise ValueError(f"{path}:{line}: need ours, person and status opted_out/opted_in")
            try:
                ours, person = _number(ours, "ours"), _number(person, "person")
            except ValueError as exc:
                raise ValueError(f"{path}:{line}: {exc}") from None
            rows.append((ours, person, status == OPTED_IN, (record.get("detail") or "").strip()))
    return rows


async def _run(args: argparse.Namespace) -> int:
    compliance = Compliance.from_file(args.compliance) if args.compliance else Compliance()
    rows = read_rows(Path(args.file)) if args.verb == "import" else []
    person = _number(args.person, "person") if args.verb != "import" else ""
    ours = _number(args.ours, "ours") if args.verb in ("opt-out", "opt-in") else ""
    async with opened_store(args) as store:
        now = datetime.now(UTC)
        if args.verb == "history":
            changes = await store.consent_history(strip_channel(person))
            for c in changes:
                print(f"{c.at.isoformat()} {c.scope} {c.status} {c.source} {c.detail}".rstrip())
            if not changes:
                print(f"no consent changes recorded for {strip_channel(person)}")
        elif args.verb == "import":
            for ours, person, opted_in, detail in rows:
                await set_consent(
                    store, compliance, ours, person, opted_in, now, source="import", detail=detail
                )
            print(f"recorded {len(rows)} consent changes from {args.file}")
        else:
            opted_in = args.verb == "opt-in"
            change = await set_consent(
                store, compliance, ours, person, opted_in, now, detail=args.detail
            )
            print(f"recorded: {change.person} {change.status} in {change.scope} ({change.source})")
        return 0


run = run_async(_run)
