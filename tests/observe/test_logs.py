"""Structured logs: stable JSON fields, masked phone numbers, a readable text format, and
`switchboard serve` writing JSON lines when SWITCHBOARD_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest

from bot.observe.config import ObserveSettings
from bot.observe.logs import FIELDS, JsonFormatter, TextFormatter, mask_phones
from bot.testing.cluster import Cluster
from tests.multi.workload import ROOT, Message, upgrade
from tests.observe.apps import harness

PERSON = "+15557654321"


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("switchboard.turns", logging.INFO, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    return made


def test_mask_keeps_the_last_two_digits_and_nothing_else() -> None:
    assert mask_phones(f"sms:+15550100000:{PERSON} said hi") == (
        "sms:+*********00:+*********21 said hi"
    )
    assert mask_phones("took 12345678 us, version 3") == "took 12345678 us, version 3"


def test_json_lines_have_the_stable_fields_and_mask_numbers() -> None:
    line = JsonFormatter().format(
        record(f"turn {PERSON}", conversation=f"sms:+15550100000:{PERSON}", flow="quiz",
               state_before="ask", state_after="answered", sid="SM1", duration_ms=1.5,
               outcome="ok", kind="message"),
    )  # fmt: skip
    entry = json.loads(line)
    assert set(entry) == {"ts", "level", "logger", "message", *FIELDS}
    assert entry["conversation"] == "sms:+*********00:+*********21"
    assert PERSON not in line
    unmasked = json.loads(JsonFormatter(mask=False).format(record("x", conversation=PERSON)))
    assert unmasked["conversation"] == PERSON


def test_text_stays_readable() -> None:
    line = TextFormatter().format(record(f"consent change for {PERSON}"))
    assert line.endswith("INFO switchboard.turns consent change for +*********21")
    assert not line.startswith("{")


async def test_one_line_per_turn_with_states_and_outcome(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="switchboard.turns")
    async with harness(ObserveSettings(log_turns=True)) as h:
        phone = h.phone(PERSON)
        await phone.send("hello")
        await phone.send("boom")
        await phone.send("yes")
    turns = [r for r in caplog.records if r.name == "switchboard.turns"]
    got = [(r.flow, r.state_before, r.state_after, r.outcome) for r in turns]  # type: ignore[attr-defined]
    assert got == [
        ("quiz", "ask", "ask", "ok"),
        ("quiz", "ask", "ask", "flow_error"),
        ("quiz", "ask", "answered", "ok"),
    ]
    assert all(r.sid.startswith("SM") and r.duration_ms > 0 for r in turns)  # type: ignore[attr-defined]


async def test_serve_writes_json_lines(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'switchboard.db'}"
    upgrade(database)
    env = {"SWITCHBOARD_LOG_FORMAT": "json"}
    message = Message(PERSON, "SM" + "1a" + "0" * 30, "hi")
    async with Cluster(1, database, cwd=ROOT, log_dir=tmp_path, app="tests.multi.app:app",
                       env=env) as cluster:  # fmt: skip
        async with aiohttp.ClientSession() as session:
            status, _ = await cluster.post(session, 0, "/twilio", message.params())
        assert status == 200
    lines = [json.loads(x) for x in cluster.instances[0].log().splitlines() if x.startswith("{")]
    turns = [x for x in lines if x["logger"] == "switchboard.turns"]
    assert len(turns) == 1, cluster.instances[0].log()
    assert turns[0]["flow"] == "support" and turns[0]["sid"] == message.sid
    assert turns[0]["outcome"] == "ok" and "state_after" in turns[0]
    assert PERSON not in cluster.instances[0].log()
