"""What operators are shown, as plain JSON-ready dicts (the API sends them, the CLI prints
them), and the list query read from request parameters.

The timeline of a conversation merges, by time, its message log (messages in and out, call
events, timers firing, with the states before and after), its outbox rows (with delivery
status and errors), consent changes, operator actions and its timers set, fired and cancelled.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.admin.errors import Invalid
from bot.events.model import Channel
from bot.flow.definition import CompiledFlow
from bot.flow.subflow import calls_of
from storage.admin_queries import AuditEntry, Cursor, Search, StateCount, TimerChange, Window
from storage.records import ConsentChange, Conversation, LogEntry, OutboundMessage, Timer

__all__ = [
    "Detail",
    "FlowView",
    "call_stack",
    "conversation_json",
    "cursor_of",
    "detail_json",
    "flow_view",
    "message_json",
    "search_from",
]

MAX_PAGE = 200
_STATUSES = ("open", "closed", "stuck", "all")


@dataclass(frozen=True, slots=True)
class Detail:
    """One conversation and everything around it."""

    conversation: Conversation
    log: Sequence[LogEntry]
    timers: Sequence[Timer]
    outbox: Sequence[OutboundMessage]
    consent: Sequence[ConsentChange]
    window: Window | None
    audit: Sequence[AuditEntry]
    flow: CompiledFlow | None
    timer_history: Sequence[TimerChange] = ()
    flows: Mapping[str, CompiledFlow] = field(default_factory=dict)  # for the call stack


@dataclass(frozen=True, slots=True)
class FlowView:
    """A flow's states and transitions, and where its open conversations are."""

    name: str
    initial: str
    states: list[str]
    final: list[str]
    transitions: list[dict[str, str]]
    open: dict[str, int]
    idle: dict[str, int]


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def conversation_json(c: Conversation) -> dict[str, Any]:
    """A conversation as the list and the page show it."""
    return {
        "key": c.key, "flow": c.flow, "state": c.state, "data": c.data, "version": c.version,
        "channel": c.channel, "ours": c.ours, "theirs": c.theirs, "closed": c.closed,
        "created_at": _time(c.created_at), "updated_at": _time(c.updated_at),
        # a running subflow's callers, outermost first (docs/flows.md, "Subflows")
        "calls": [{"flow": f.get("flow"), "state": f.get("state")} for f in c.stack],
    }  # fmt: skip


def message_json(m: OutboundMessage) -> dict[str, Any]:
    """An outbox row."""
    return {
        "id": m.id, "body": m.body, "media": list(m.media), "purpose": m.purpose,
        "status": m.status, "delivery": m.delivery, "attempts": m.attempts,
        "due_at": _time(m.due_at), "created_at": _time(m.created_at), "sid": m.sid,
        "error_code": m.error_code, "error": m.error, "template": m.template,
    }  # fmt: skip


def _timer(t: Timer) -> dict[str, Any]:
    return {"name": t.name, "trigger": t.trigger, "state": t.state, "due_at": _time(t.due_at),
            "payload": t.payload}  # fmt: skip


def _audit(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "at": _time(e.at), "operator": e.operator, "action": e.action,
            "conversation": e.conversation, "target": e.target, "before": e.before,
            "after": e.after}  # fmt: skip


def _timeline(d: Detail) -> list[dict[str, Any]]:
    # (time, source, order within it): at one instant, the log's order comes first
    items: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for n, e in enumerate(d.log):
        items.append((e.at, 0, n, {
            "type": "message" if e.kind in {"message", "reply"} or e.direction == "out"
            else "event", "at": _time(e.at), "direction": e.direction, "kind": e.kind,
            "body": e.body, "media": list(e.media), "sid": e.sid,
            "state_before": e.state_before, "state_after": e.state_after, "meta": e.meta,
        }))  # fmt: skip
    for m in d.outbox:
        items.append((m.created_at, 1, 0, {"type": "outbox", "at": _time(m.created_at),
                                        **message_json(m)}))  # fmt: skip
    for c in d.consent:
        items.append((c.at, 2, 0, {"type": "consent", "at": _time(c.at), "status": c.status,
                                "source": c.source, "detail": c.detail}))  # fmt: skip
    for a in d.audit:
        items.append((a.at, 3, a.id, {"type": "operator", **_audit(a)}))
    for t in d.timer_history:
        items.append((t.at, 4, t.id, {"type": "timer", "at": _time(t.at), "event": t.event,
                                      "name": t.name, "trigger": t.trigger, "state": t.state,
                                      "due_at": _time(t.due_at), "reason": t.reason}))  # fmt: skip
    items.sort(key=lambda item: item[:3])
    return [item[3] for item in items]


def detail_json(d: Detail) -> dict[str, Any]:
    """One conversation's page."""
    window = None
    if d.window is not None:
        window = {"last_inbound": _time(d.window.last_inbound),
                  "closed_at": _time(d.window.closed_at)}  # fmt: skip
    consent = d.consent[-1].status if d.consent else None
    return {
        "conversation": conversation_json(d.conversation),
        "states": list(d.flow.cls.states) if d.flow else [],
        "timeline": _timeline(d),
        "timers": [_timer(t) for t in d.timers],
        "outbox": [message_json(m) for m in d.outbox],
        "consent": consent, "window": window,
        "audit": [_audit(a) for a in d.audit],
        "stack": call_stack(d.conversation, d.flows),
    }  # fmt: skip


def _waits_for(flow: CompiledFlow | None, state: str) -> list[str]:
    """The triggers ``flow`` takes in ``state``: what a caller's frame waits for is its
    subflow's outcomes; the running flow's, its next input."""
    if flow is None:
        return []
    found = {str(t["trigger"]) for t in flow.cls.transitions
             if t["source"] == "*" or state in _sources(t["source"])}  # fmt: skip
    return sorted(found)


def _sources(source: Any) -> list[str]:
    return [str(s) for s in source] if isinstance(source, list | tuple) else [str(source)]


def call_stack(c: Conversation, flows: Mapping[str, CompiledFlow]) -> list[dict[str, Any]]:
    """The conversation's call stack, outermost first: each caller's flow, the state it waits
    in, the subflow that state runs and the triggers it waits for; last, the running flow."""
    frames = []
    for frame in c.stack:
        name, state = str(frame.get("flow")), str(frame.get("state"))
        flow = flows.get(name)
        frames.append({"flow": name, "state": state, "running": False,
                       "calls": calls_of(flow.cls).get(state) if flow else None,
                       "waits_for": _waits_for(flow, state)})  # fmt: skip
    running = flows.get(c.flow)
    frames.append({"flow": c.flow, "state": c.state, "running": True, "calls": None,
                   "waits_for": [] if c.closed else _waits_for(running, c.state)})  # fmt: skip
    return frames


def audit_json(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    return [_audit(e) for e in entries]


def flow_view(flow: CompiledFlow, counts: Sequence[StateCount]) -> FlowView:
    """``flow`` with the open and idle conversations per state from ``counts``."""
    mine = [c for c in counts if c.flow == flow.name]
    transitions = [
        {"trigger": str(t["trigger"]), "source": str(src), "dest": _dest(t.get("dest"), src)}
        for t in flow.cls.transitions
        for src in (t["source"] if isinstance(t["source"], list | tuple) else [t["source"]])
    ]
    return FlowView(
        flow.name, flow.initial, list(flow.cls.states), list(flow.cls.final_states),
        transitions, {c.state: c.open for c in mine}, {c.state: c.idle for c in mine},
    )  # fmt: skip


def _dest(dest: Any, source: str) -> str:
    """Where a transition leads: ``None`` (internal) and ``=`` (reflexive) stay put."""
    return source if dest in (None, "=") else str(dest)


def cursor_of(c: Conversation) -> str:
    """The opaque cursor of the page that ends with ``c``."""
    raw = json.dumps([_time(c.updated_at), c.key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(raw: str) -> Cursor:
    try:
        at, key = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return Cursor(datetime.fromisoformat(at), str(key))
    except (ValueError, TypeError, binascii.Error):
        raise Invalid("cursor is not one this API gave out") from None


def _number(raw: str) -> tuple[str, ...]:
    """The stored addresses a typed number may be: ``+1 555-0100`` → ``+15550100`` and its
    WhatsApp form."""
    bare = raw.strip().removeprefix("whatsapp:")
    digits = "".join(ch for ch in bare if ch.isdigit())
    if not digits:
        return (raw.strip(),)  # a short code or sender id, as typed
    number = "+" + digits
    return (number, "whatsapp:" + number)


def _int(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    try:
        value = default if raw in (None, "") else int(str(raw))
    except ValueError:
        raise Invalid(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise Invalid(f"{name} must be from {low} to {high}")
    return value


def search_from(args: Mapping[str, str], now: datetime) -> Search:
    """The list query in ``args``: ``number``, ``flow``, ``state``, ``channel``,
    ``status`` (open, closed, stuck, all), ``stuck_minutes``, ``limit``, ``cursor``."""
    status = args.get("status") or "all"
    if status not in _STATUSES:
        raise Invalid(f"status must be one of {', '.join(_STATUSES)}")
    channel = args.get("channel") or None
    if channel is not None and channel not in {c.value for c in Channel}:
        raise Invalid(f"channel must be one of {', '.join(c.value for c in Channel)}")
    minutes = _int(args, "stuck_minutes", 60, 1, 60 * 24 * 365)
    number = args.get("number") or ""
    return Search(
        flow=args.get("flow") or None, state=args.get("state") or None, channel=channel,
        theirs=_number(number) if number.strip() else (),
        closed={"open": False, "stuck": False, "closed": True}.get(status),
        idle_before=now - timedelta(minutes=minutes) if status == "stuck" else None,
        after=_cursor(args["cursor"]) if args.get("cursor") else None,
        limit=_int(args, "limit", 50, 1, MAX_PAGE),
    )  # fmt: skip
