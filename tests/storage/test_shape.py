"""The shape of the store package: its primitives, its imports, the logic written once.

Backend tests run on each backend (the ``store``/``url`` fixtures); the rest are pure.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from storage import Store, open_store
from storage.backend import PRIMITIVES, Backend
from storage.dialect import numbered
from storage.errors import SchemaError
from storage.records import (
    ConsentChange,
    ConsentSource,
    ConsentStatus,
    Direction,
    OutboundMessage,
    OutboxChange,
    OutboxStatus,
)
from storage.rules import decide_delivery, group_report, window_closes
from tests.storage.test_contract import conv, entry, write

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_a_backend_writes_twelve_primitives() -> None:
    """Pinned: a new primitive is a cost for every backend; derive it in Backend instead."""
    assert sorted(PRIMITIVES) == [
        "applied_versions", "apply_migration", "claim_outbox", "claim_timers", "commit",
        "connect", "contact", "disconnect", "enqueue", "load", "run", "where",
    ]  # fmt: skip
    assert Backend.__abstractmethods__ == PRIMITIVES


def test_storage_imports_no_bot_module_and_no_driver() -> None:
    code = (
        "import storage, sys; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'bot', 'aiosqlite', 'asyncpg'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_backend_module_imports_no_bot_module() -> None:
    code = (
        "import storage.sqlite, storage.postgres, storage.admin, sys; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'bot'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- regression: issue 10, a second open() after a failed schema check ----------------------


async def test_open_after_a_failed_schema_check_checks_again_instead_of_returning(
    url: str,
) -> None:
    """SQLiteStore.open() used to keep its connection after the check failed, so a second
    open() returned normally and the next load failed with "no such table"."""
    store = open_store(url, auto_migrate=False)
    for _ in range(2):
        with pytest.raises(SchemaError, match="switchboard db upgrade"):
            await store.open()
    await store.close()


async def test_open_after_a_failed_check_and_an_upgrade_works(url: str) -> None:
    store = open_store(url, auto_migrate=False)
    with pytest.raises(SchemaError):
        await store.open()
    await store.connect()
    await store.migrate()
    await store.close()
    await store.open()
    try:
        assert await store.conversation("sms:+1:+2") is None
    finally:
        await store.close()


# -- what the backends read back are enums -------------------------------------------------


async def test_values_read_back_are_enums(store: Store) -> None:
    c = conv()
    await store.commit(
        write(c, log=(entry(c.key, "hi"), replace(entry(c.key, "yo"), direction=Direction.OUT)))
    )
    assert [type(e.direction) for e in await store.log(c.key)] == [Direction, Direction]
    assert [e.direction for e in await store.log(c.key)] == [Direction.IN, Direction.OUT]
    await store.record_consent(
        ConsentChange("+1666", "+1555", ConsentStatus.OPTED_OUT, ConsentSource.CARRIER, T0)
    )
    [got] = await store.consent_history("+1666")
    assert (got.status, got.source) == (ConsentStatus.OPTED_OUT, ConsentSource.CARRIER)
    assert type(got.status) is ConsentStatus and type(got.source) is ConsentSource
    m = OutboundMessage("OB1", "sms", "+1555", "+1666", "hi", T0, T0)
    await store.enqueue([m])
    stored = await store.outbox_message("OB1")
    assert stored is not None and type(stored.status) is OutboxStatus
    [claimed] = await store.claim_outbox("w", T0, T0 + timedelta(minutes=1), 5)
    # (SQLite answers the row as selected, 'pending'; PostgreSQL as updated, 'claimed')
    assert type(claimed.status) is OutboxStatus


async def test_update_outbox_keeps_a_delivery_of_the_same_sid(store: Store) -> None:
    m = OutboundMessage("OB1", "sms", "+1555", "+1666", "hi", T0, T0)
    await store.enqueue([m])
    await store.claim_outbox("w", T0, T0 + timedelta(minutes=1), 5)
    assert await store.apply_delivery("OB1", "SM1", "sent", None, T0)  # before create answered
    change = OutboxChange(OutboxStatus.ACCEPTED, "sent", T0, sid="SM1", delivery="queued")
    assert await store.update_outbox("OB1", "w", change)
    got = await store.outbox_message("OB1")
    assert got is not None and (got.status, got.sid, got.delivery) == ("accepted", "SM1", "sent")


async def test_an_unknown_report_group_is_refused_before_any_query(store: Store) -> None:
    with pytest.raises(ValueError, match="groups by 'flow' or 'theirs'"):
        await store.delivery_report("body; DROP TABLE outbox")


# -- the rules, written once ----------------------------------------------------------------


def _sent(**kw: object) -> OutboundMessage:
    fields: dict[str, object] = dict(status="accepted", sid="SM1", delivery="sent")
    fields.update(kw)
    return replace(OutboundMessage("OB1", "sms", "+1", "+2", "hi", T0, T0), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "sid", "status", "retry", "expect"),
    [
        (_sent(), "SM1", "delivered", False, (True, "status", False)),
        (_sent(), "SM1", "queued", False, (False, "status-ignored", False)),
        (_sent(), "SM0", "delivered", False, (False, "status-stale", False)),
        (_sent(sid=None, delivery=None), "SM1", "sent", False, (True, "status", False)),
        (_sent(status="claimed"), "SM2", "queued", False, (True, "status", False)),
        (_sent(), "SM1", "undelivered", True, (True, "status", True)),
        (_sent(), "SM1", "delivered", True, (True, "status", False)),
        (_sent(delivery="failed"), "SM1", "delivered", False, (False, "status-ignored", False)),
    ],
)
def test_decide_delivery(
    message: OutboundMessage, sid: str, status: str, retry: bool, expect: tuple[bool, str, bool]
) -> None:
    decision = decide_delivery(message, sid, status, T0 if retry else None)
    assert (decision.applies, decision.event, decision.retry) == expect


def test_a_window_stays_open_when_they_wrote_after_the_failure() -> None:
    assert window_closes(None, T0)
    assert window_closes(T0, T0)
    assert not window_closes(T0 + timedelta(seconds=1), T0)


def test_report_rows_group_once_per_group() -> None:
    [a, b] = group_report([("a", "delivered", 3), ("a", "failed", 1), ("b", "read", 2)])
    assert (a.group, a.total, a.by_status, a.rate) == ("a", 4, {"delivered": 3, "failed": 1}, 0.75)
    assert (b.group, b.total, b.delivered) == ("b", 2, 2)


def test_placeholders_are_numbered_for_postgresql() -> None:
    assert numbered("SELECT ? WHERE a = ? AND b IN (?, ?)") == (
        "SELECT $1 WHERE a = $2 AND b IN ($3, $4)"
    )
    assert numbered("SELECT 1") == "SELECT 1"
