"""``switchboard flows check``: before a deploy, what the new code does to live conversations.

It loads the flows of ``--app`` (the code about to be deployed), reads the database (only
reads: no migration, no new database), and for every open conversation asks the same
:func:`bot.flow.placement.place` the engine asks at run time. It prints, per flow, state and
version, how many conversations there are and what will happen to them, then the static
findings of each flow. Callers waiting for a subflow are listed as ``STATE (caller)``: the
engine places them the same way when the child returns. Exit 0 when every live conversation
is placed, 1 when any would be restarted, closed, refused or moved to another flow (and,
with ``--strict``, when a static check found something), 2 on an error (one line, no
traceback).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.cli.common import Commands, database_url, fail, import_target, run_async
from bot.flow.checks import static_checks
from bot.flow.definition import CompiledFlow
from bot.flow.placement import Outcome, place
from bot.flow.versions import Lost
from bot.settings import BANNER_SHOWN
from storage.census import LiveState, live_states
from storage.url import redact

__all__ = ["Verdict", "add_parser", "judge", "run"]


@dataclass(frozen=True)
class Verdict:
    """What the running code will do with the conversations of one :class:`LiveState`."""

    live: LiveState
    outcome: str  # an Outcome, or "gone" for a flow the code no longer has
    says: str
    blocks: bool  # whether it makes the check fail: conversations lost, restarted, refused


def judge(flows: Mapping[str, CompiledFlow], live: LiveState) -> Verdict:
    """The verdict on ``live`` under ``flows`` (the engine's own placement decision)."""
    flow = flows.get(live.flow)
    if flow is None:
        return Verdict(live, "gone", "flow no longer exists: restarted in the routed flow", True)
    found = place(flow, live.state, {}, live.flow_version, live.flow_shape, upgrade_data=False)
    if found.outcome is Outcome.AHEAD:
        says = f"written by newer code (v{live.flow_version}): refused with 503 until it serves"
        return Verdict(live, found.outcome, says, True)
    if found.outcome is Outcome.MIGRATED:
        moved = f"to {found.state!r}" if found.state != live.state else "(same state)"
        return Verdict(live, found.outcome, f"migrated to v{flow.version} {moved}", False)
    if found.outcome is Outcome.LOST:
        policy = flow.lost
        says = {
            Lost.RESTART: "LOST: state gone, no migration: restarted",
            Lost.CLOSE: "LOST: state gone, no migration: closed",
            Lost.HANDLER: "state gone, no migration: handed to place_lost",
        }[policy]
        return Verdict(live, found.outcome, says, policy is not Lost.HANDLER)
    says = "continues"
    if live.flow_version == flow.version and live.flow_shape not in ("", flow.shape):
        says += " (the definition changed without a version bump: bump `version`)"
    return Verdict(live, found.outcome, says, False)


def _load_flows(spec: str) -> dict[str, CompiledFlow]:
    from bot.web.app import runtime_of

    if "SWITCHBOARD_DEV" not in os.environ:  # importing app:app then needs no auth token:
        os.environ["SWITCHBOARD_DEV"] = "1"  # its flows are only read, never served, so no
        os.environ[BANNER_SHOWN] = "1"  # signature is checked and dev warnings do not apply
    app = import_target(spec)
    try:
        return dict(runtime_of(app).engine.flows)
    except (AttributeError, KeyError, TypeError) as exc:
        raise ValueError(f"--app {spec!r} is not a Switchboard app (create_app(...))") from exc


def _print_flow(flow: CompiledFlow | None, name: str, verdicts: list[Verdict]) -> None:
    head = f"flow {name} v{flow.version} ({flow.shape})" if flow else f"flow {name} (not in --app)"
    print(head)
    for v in verdicts:
        live = v.live
        state = f"{live.state} (caller)" if live.waiting else live.state
        says = f"waiting for a subflow; on its return: {v.says}" if live.waiting else v.says
        print(f"  {state:<20} v{live.flow_version:<3} {live.count:>7}  {says}")


async def _check(args: argparse.Namespace) -> int:
    flows = _load_flows(args.app)
    url = database_url(args)
    verdicts = [judge(flows, live) for live in await live_states(url)]
    print(f"{redact(url)}: {sum(v.live.count for v in verdicts)} live conversations")
    for name in sorted({v.live.flow for v in verdicts} | set(flows)):
        _print_flow(flows.get(name), name, [v for v in verdicts if v.live.flow == name])
    findings = [f for flow in flows.values() for f in static_checks(flow)]
    for f in findings:
        print(f"warning: flow {f.flow!r} state {f.state!r}: {f.problem}: {f.detail}")
    blocked = sum(v.live.count for v in verdicts if v.blocks)
    if blocked:
        print(f"FAIL: {blocked} live conversations would be lost, restarted or refused")
        return 1
    if findings and args.strict:
        print(f"FAIL: {len(findings)} static findings (--strict)")
        return 1
    print("ok: every live conversation is placed")
    return 0


_run_check = run_async(_check)


def run(args: argparse.Namespace) -> int:
    """Run ``switchboard flows check``."""
    if args.verb != "check":
        return fail(f"unknown verb {args.verb!r}")
    return _run_check(args)


def add_parser(commands: Commands) -> None:
    """Register ``switchboard flows check``."""
    flows = commands.add_parser("flows", help="check flows against live conversations")
    verbs = flows.add_subparsers(dest="verb", required=True)
    check = verbs.add_parser(
        "check", help="what the code of --app does to every live conversation (gates a deploy)"
    )
    check.add_argument("--app", default="app:app", help="the app about to be deployed")
    check.add_argument("--database", default=None, help="database URL to read (never written)")
    check.add_argument("--strict", action="store_true", help="also fail on static findings")
