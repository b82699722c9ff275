"""An operator's action and its audit entry commit in one transaction, on both backends: an
audit write that fails rolls the action back, and a commit that loses a version race (and is
redone) or is refused leaves no audit entry of its own."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from bot.admin import Operations
from bot.testing import Harness
from storage.programs import Program
from storage.records import Conversation
from tests.admin.conftest import Api, path

KEY = "sms:+15550100000:+15550001111"


def _rename(old: str, new: str) -> Program[None]:
    yield f"ALTER TABLE {old} RENAME TO {new}", ()


@asynccontextmanager
async def _audit_log_broken(harness: Harness) -> Any:
    """The audit log's table is gone while inside: every audit insert fails."""
    backend: Any = harness.store
    await backend.run(_rename("audit_log", "audit_log_away"))
    try:
        yield
    finally:
        await backend.run(_rename("audit_log_away", "audit_log"))


def _ops(harness: Harness) -> Operations:
    ops = harness.runtime.admin
    assert ops is not None
    return ops


async def _audit(api: Api) -> list[dict[str, Any]]:
    status, body = await api.get("/admin/api/audit")
    assert status == 200
    entries: list[dict[str, Any]] = body["audit"]
    return entries


async def test_a_failing_audit_write_rolls_the_action_back(harness: Harness, api: Api) -> None:
    await harness.phone("+15550001111").send("hi")
    before = await harness.store.conversation(KEY)
    assert before is not None
    async with _audit_log_broken(harness):
        status, body = await api.post(path(KEY) + "/move", {"state": "question"})
        assert status == 503, body
        status, _ = await api.post(path(KEY) + "/end", {})
        assert status == 503
    after = await harness.store.conversation(KEY)
    assert after is not None
    assert (after.state, after.version, after.closed) == ("menu", before.version, False)
    assert await _audit(api) == []
    status, _ = await api.post(path(KEY) + "/move", {"state": "question"})  # works again
    assert status == 200
    assert [a["action"] for a in await _audit(api)] == ["move"]


async def test_a_failing_audit_write_rolls_back_outbox_and_consent(
    harness: Harness, api: Api
) -> None:
    await harness.phone("+15550001111").send("hi")
    await api.post(path(KEY) + "/move", {"state": "menu", "run_callbacks": True})
    _, shown = await api.get(path(KEY))
    message = shown["outbox"][0]["id"]
    async with _audit_log_broken(harness):
        status, _ = await api.post(f"/admin/api/outbox/{message}/cancel")
        assert status == 503
        status, _ = await api.post(path(KEY) + "/consent", {"status": "opted_out"})
        assert status == 503
    _, shown = await api.get(path(KEY))
    assert shown["outbox"][0]["status"] == "pending"  # not cancelled
    assert await harness.store.consent_history("+15550001111") == []  # not opted out
    assert [a["action"] for a in await _audit(api)] == ["move"]


async def test_a_lost_version_race_leaves_no_audit_entry(harness: Harness, api: Api) -> None:
    await harness.phone("+15550001111").send("hi")
    ops, attempts = _ops(harness), []

    async def change(c: Conversation) -> Any:
        attempts.append(c.version)
        write = await ops.actions.write(c, "alice", state="question", data=c.data)
        if len(attempts) == 1:  # another process steps the conversation meanwhile
            other = await ops.actions.write(c, "bob", state="order_lookup", data=c.data)
            await harness.store.commit(other)
        return write

    done = await ops.actions.apply(KEY, "alice", "move", change, target="question")
    assert attempts == [1, 2] and done.version == 3  # redone on the fresh state
    audit = await _audit(api)
    assert [(a["operator"], a["before"]["version"], a["after"]["version"]) for a in audit] == [
        ("alice", 2, 3)
    ]
    assert audit[0]["before"]["state"] == "order_lookup"


async def test_a_stale_action_leaves_no_audit_entry(harness: Harness, api: Api) -> None:
    await harness.phone("+15550001111").send("hi")
    await harness.phone("+15550001111").send("1")
    status, _ = await api.post(path(KEY) + "/move", {"state": "menu", "version": 1})
    assert status == 409
    assert await _audit(api) == []
