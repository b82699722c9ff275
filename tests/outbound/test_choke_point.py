"""Every send passes the consent/window gate, at send time; only the outbox talks to Twilio."""

from __future__ import annotations

import ast
import json
from datetime import timedelta
from pathlib import Path

from bot.compliance.config import Compliance, NumberPolicy, Template
from bot.events.model import Channel
from bot.testing import Harness
from tests.outbound.conftest import CALLER

ROOT = Path(__file__).resolve().parents[2]


def python_files() -> list[Path]:
    return [p for d in ("bot", "storage", "flows") for p in (ROOT / d).rglob("*.py")]


def test_only_the_rest_module_imports_the_twilio_rest_client() -> None:
    importers = set()
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(
                n == "twilio.rest" or n.startswith(("twilio.rest.", "twilio.http")) for n in names
            ):
                importers.add(path.relative_to(ROOT).as_posix())
    assert importers == {"bot/outbound/rest.py"}


def test_only_the_worker_calls_create_message_and_only_after_the_gate() -> None:
    callers = set()
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"create_message", "create_async"}:
                callers.add(path.relative_to(ROOT).as_posix())
    assert callers == {"bot/outbound/rest.py", "bot/outbound/worker.py"}
    worker = (ROOT / "bot/outbound/worker.py").read_text("utf-8")
    # _send(): the rate limit, then the gate at the last moment, then the attempt stored with
    # the ledger checked in its transaction, then _call, the only place create_message is
    assert worker.count(".create_message(") == 1
    send = worker[worker.index("    async def _send") : worker.index("    async def _call")]
    order = ["self.limits.acquire(", "self._admit(", "self.store.begin_attempt(", "self._call("]
    positions = [send.index(step) for step in order]
    assert positions == sorted(positions)
    assert worker.count("self._call(") == 1
    call = worker[worker.index("    async def _call") :]
    assert ".create_message(" in call[: call.index("    async def _failed")]


async def test_the_gate_decides_at_send_time_not_at_enqueue(h: Harness) -> None:
    phone = h.phone(CALLER)
    await phone.send("hi")
    await phone.send("ping")  # stored while the person is opted in
    await phone.send("STOP")  # opts out before the worker gets to it
    await h.drain()
    assert h.twilio is not None and h.twilio.sent() == []

    def read(conn):  # type: ignore[no-untyped-def]
        return conn.execute("SELECT status, error FROM outbox").fetchall()

    assert await h.store._run(read) == [("blocked", "opted_out")]  # type: ignore[attr-defined]


async def test_a_whatsapp_send_outside_the_window_is_blocked(h: Harness) -> None:
    phone = h.phone(CALLER, channel=Channel.WHATSAPP)
    await phone.send("hi")
    await phone.send("later")  # a timer in 30 minutes: inside the window, it goes
    h.clock.advance(timedelta(minutes=30))
    await h.drain()
    assert h.twilio is not None and [m.to for m in h.twilio.sent()] == [f"whatsapp:{CALLER}"]
    assert h.twilio.sent()[0].from_ == "whatsapp:+15550100000"
    await phone.send("later")
    h.clock.advance(timedelta(hours=25))  # the 24-hour window has closed meanwhile
    await h.drain()
    assert len(h.twilio.sent()) == 1

    def read(conn):  # type: ignore[no-untyped-def]
        return conn.execute("SELECT status, error FROM outbox ORDER BY rowid").fetchall()

    rows = await h.store._run(read)  # type: ignore[attr-defined]
    assert rows == [("accepted", None), ("blocked", "window_closed")]


async def test_outside_the_window_the_gate_rewrites_a_send_into_its_template(h: Harness) -> None:
    sid = "HX" + "a" * 32
    policy = NumberPolicy(templates={"reminder": Template(sid, {"1": "soon", "2": "Ana"})})
    h.engine.gate.compliance = Compliance(default=policy)
    phone = h.phone(CALLER, channel=Channel.WHATSAPP)
    await phone.send("hi")
    await phone.send("tomorrow")  # a reminder in 25 hours, long after the window closes
    h.clock.advance(timedelta(hours=25))
    await h.drain()
    assert h.twilio is not None
    [sent] = h.twilio.sent()
    # on the wire: ContentSid plus ContentVariables (the JSON string Twilio expects), no Body
    wire = dict(sent.params)
    assert wire["ContentSid"] == sid and "Body" not in wire and "MediaUrl" not in wire
    assert json.loads(wire["ContentVariables"]) == {"1": "tomorrow", "2": "Ana"}

    def read(conn):  # type: ignore[no-untyped-def]
        return conn.execute(
            "SELECT id, status, content_sid, content_variables FROM outbox"
        ).fetchone()

    message_id, status, content_sid, variables = await h.store._run(read)  # type: ignore[attr-defined]
    assert (status, content_sid) == ("accepted", sid)
    assert json.loads(variables) == {"1": "tomorrow", "2": "Ana"}
    [sent_event] = [e for e in await h.store.outbox_history(message_id) if e.event == "sent"]
    assert sent_event.detail == {"template": sid}
