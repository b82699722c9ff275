"""``switchboard send`` (a CSV campaign, progress bar, summary) and ``switchboard outbox``."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.send import read_recipients
from bot.dev.fake_twilio import FakeTwilio, fake_twilio_thread
from bot.dev.signing import TEST_AUTH_TOKEN
from storage import open_store
from storage.records import OutboundMessage, OutboxChange, OutboxStatus
from storage.rules import WAITING


@pytest.fixture
def twilio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeTwilio]:
    with fake_twilio_thread(auth_token=TEST_AUTH_TOKEN) as fake:
        for name, value in fake.credentials().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
        monkeypatch.setenv("SWITCHBOARD_PUBLIC_URL", "https://switchboard.test")
        monkeypatch.setenv("SWITCHBOARD_SEND_RATE", "500")
        yield fake


CSV = """phone,name,when
+15550001111,Ana,Tuesday 10:00
+1 555-000-2222,Bo,Friday 15:30
not-a-number,Cy,Monday
+15550003333,Di,Wednesday 11:00
"""


def test_send_a_csv_campaign_with_a_summary_and_no_duplicates_on_rerun(
    twilio: FakeTwilio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(CSV, "utf-8")
    argv = ["send", "appointments", "--from", "+15550100000", "--csv", str(people), "--wait",
            "--purpose", "start"]  # fmt: skip  # transactional: not held for quiet hours
    assert main(argv) == 1  # one row is invalid
    out = capsys.readouterr()
    assert "started 3, already started 0, invalid 1" in out.out
    assert "line 4: 'not-a-number' is not an E.164 number" in out.out
    assert "outbox after sending: queued 3" in out.out
    assert "starting [" in out.err and "sending [" in out.err and "3/3" in out.err
    bodies = sorted(m.body for m in twilio.sent())
    assert len(bodies) == 3 and bodies[0].startswith("Hi Ana, this is a reminder")
    assert any("Friday 15:30" in b for b in bodies)

    assert main(argv) == 1  # the same campaign again: nobody is started twice
    assert "started 0, already started 3" in capsys.readouterr().out
    assert len(twilio.sent()) == 3

    assert main(["outbox", "--by", "number"]) == 0
    report = capsys.readouterr().out
    assert "+15550001111" in report and "queued 1" in report


def test_send_to_numbers_without_waiting_queues_them(
    twilio: FakeTwilio, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["send", "appointments", "--from", "+15550100000", "--to", "+15550004444"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "queued in the outbox" in out and "started: sms:+15550100000:+15550004444" in out
    url = os.environ["SWITCHBOARD_DATABASE_URL"]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:  # a campaign by default:
        purposes = {row[0] for row in db.execute("SELECT purpose FROM outbox")}
    assert purposes == {"campaign"}  # held outside the recipient's quiet hours
    assert twilio.sent() == []
    assert main(["outbox"]) == 0  # not sent yet: counted, and no rate without an outcome
    [row] = capsys.readouterr().out.splitlines()[1:]
    assert row.split() == ["appointments", "1", "0", "-", "pending", "1"]


def test_unknown_flow_is_a_clear_error(
    twilio: FakeTwilio, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["send", "nope", "--from", "+15550100000", "--to", "+15550004444"]) == 2
    assert "no flow named 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("sender", ["garbage", "+1 555 010 0000", "sms:+15550100000", ""])
def test_a_sender_that_is_not_a_number_is_refused_before_anything_is_queued(
    sender: str, twilio: FakeTwilio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was accepted: a conversation keyed ``sms:garbage:+1…`` with a message pending."""
    assert main(["send", "appointments", "--from", sender, "--to", "+15550004444"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f"--from {sender!r} is not one of our numbers in E.164 form" in line
    assert not (tmp_path / "cli.db").exists()


def test_read_recipients_needs_a_number_column() -> None:
    with pytest.raises(ValueError, match="no to/phone/number/mobile column"):
        read_recipients([{"name": "x"}], None)
    good, bad = read_recipients([{"to": "whatsapp:+15550001111", "x": "1"}], None)
    assert good == [("whatsapp:+15550001111", {"x": "1"})] and bad == []


def test_the_outbox_report_shows_messages_waiting_for_twilio(
    twilio: FakeTwilio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def an_outage() -> None:
        store = open_store(f"sqlite:///{tmp_path / 'cli.db'}", auto_migrate=True)
        await store.open()
        now = datetime.now(UTC)
        message = OutboundMessage("OB1", "sms", "+15550100000", "+15550001111", "hi", now, now)
        await store.enqueue([message])
        await store.claim_outbox("w", now, now + timedelta(minutes=2), 10)
        why = f"{WAITING}: cannot connect to Twilio"
        change = OutboxChange(OutboxStatus.PENDING, "waiting", now, due_at=now, error=why)
        assert await store.update_outbox("OB1", "w", change)
        await store.close()

    asyncio.run(an_outage())
    assert main(["outbox", "--by", "number"]) == 0
    report = capsys.readouterr().out
    assert "+15550001111" in report and "waiting for Twilio 1" in report


def test_queueing_needs_no_auth_token_and_wait_says_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID", "SWITCHBOARD_DEV"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "dev.db"
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{db}")
    argv = ["send", "appointments", "--from", "+15550100000", "--to", "+15550004444"]
    assert main([*argv, "--wait"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in err
    assert not db.exists()
    # a newcomer's dev loop: queue here, and `serve --dev` (its fake Twilio) sends
    assert main(argv) == 0
    assert "started: sms:+15550100000:+15550004444" in capsys.readouterr().out
    assert "SWITCHBOARD_DEV" not in os.environ
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (1,)


def test_the_progress_bar_never_counts_past_its_total() -> None:
    """``send --wait`` showed ``sending [...] 5/1`` when the outbox held more than was started."""
    import io

    from bot.cli.send import Progress

    out = io.StringIO()
    bar = Progress("sending", 1, out)
    bar.advance(5)
    assert out.getvalue().endswith("5/5\n") and "#" * 30 in out.getvalue()
