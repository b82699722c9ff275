"""Every admin action, on SQLite and PostgreSQL: what it changes, what it sends, its audit."""

from __future__ import annotations

from bot.outbound.start import start_conversation
from bot.testing import Harness
from flows.support import MENU
from tests.admin.conftest import Api, path

KEY = "sms:+15550100000:+15550001111"


async def _support(harness: Harness) -> None:
    phone = harness.phone("+15550001111")
    assert (await phone.send("hi")).status == 200
    await phone.send("2")  # order_lookup


async def test_list_search_and_show(harness: Harness, api: Api) -> None:
    await _support(harness)
    await harness.phone("+15550002222").send("hi")
    status, page = await api.get("/admin/api/conversations?number=%2B1%20555-000-1111")
    assert status == 200
    assert [c["key"] for c in page["conversations"]] == [KEY]
    status, page = await api.get("/admin/api/conversations?state=menu&status=open")
    assert [c["theirs"] for c in page["conversations"]] == ["+15550002222"]
    status, shown = await api.get(path(KEY))
    assert status == 200 and shown["conversation"]["state"] == "order_lookup"
    bodies = [t["body"] for t in shown["timeline"] if t["type"] == "message"]
    assert bodies[:2] == ["hi", MENU]
    assert "menu" in shown["states"]


async def test_paging_walks_every_conversation_once(harness: Harness, api: Api) -> None:
    for n in range(5):
        await harness.phone(f"+1555000300{n}").send("hi")
        harness.clock.advance(1)
    seen, url = [], "/admin/api/conversations?limit=2"
    while True:
        _, page = await api.get(url)
        seen += [c["theirs"] for c in page["conversations"]]
        if not page["next"]:
            break
        url = f"/admin/api/conversations?limit=2&cursor={page['next']}"
    assert seen == [f"+1555000300{n}" for n in reversed(range(5))]


async def test_move_without_and_with_callbacks(harness: Harness, api: Api) -> None:
    await _support(harness)
    status, body = await api.post(path(KEY) + "/move", {"state": "question"})
    assert status == 200 and body["conversation"]["state"] == "question"
    assert body["conversation"]["version"] == 3
    status, body = await api.post(path(KEY) + "/move", {"state": "menu", "run_callbacks": True})
    assert status == 200
    _, shown = await api.get(path(KEY))
    assert [m["body"] for m in shown["outbox"]] == [
        "Hi! Reply 1 to ask a question, 2 to check an order, 3 for opening hours."
    ]
    audit = [(a["operator"], a["action"], a["before"]["state"], a["after"]["state"])
             for a in shown["audit"]]  # fmt: skip
    assert audit == [("alice", "move", "order_lookup", "question"),
                     ("alice", "move", "question", "menu")]  # fmt: skip
    reply = await harness.phone("+15550001111").send("3")  # the flow carries on from there
    assert reply.messages == ["We're open Monday to Friday, 9am to 6pm."]


async def test_edit_data_reset_and_end(harness: Harness, api: Api) -> None:
    await _support(harness)
    status, body = await api.post(path(KEY) + "/data", {"data": {"vip": True}})
    assert status == 200 and body["conversation"]["data"] == {"vip": True}
    assert body["conversation"]["state"] == "order_lookup"
    status, body = await api.post(path(KEY) + "/reset", {})
    assert (body["conversation"]["state"], body["conversation"]["data"]) == ("menu", {})
    status, body = await api.post(path(KEY) + "/end", {"version": body["conversation"]["version"]})
    assert status == 200 and body["conversation"]["closed"] is True
    status, body = await api.post(path(KEY) + "/end", {})
    assert status == 409
    reply = await harness.phone("+15550001111").send("hello again")  # starts afresh
    assert reply.messages[0].startswith("Hi! Reply 1")


async def test_timers_cancel_and_fire(harness: Harness, api: Api) -> None:
    started = await start_conversation(
        harness.engine, "appointments", "+15550004444", from_="+15550100000",
        data={"name": "Ann", "when": "Friday"},
    )  # fmt: skip
    key = started.key
    _, shown = await api.get(path(key))
    names = sorted(t["name"] for t in shown["timers"])
    assert names == ["reminding.day_passed", "reminding.no_reply"]
    status, _ = await api.post(path(key) + "/timers/reminding.day_passed/cancel")
    assert status == 200
    status, fired = await api.post(path(key) + "/timers/reminding.no_reply/fire")
    assert status == 200
    _, shown = await api.get(path(key))
    for at in ("created_at", "updated_at"):  # as the other actions answer: what is stored
        assert fired["conversation"][at] is not None
        assert fired["conversation"][at] == shown["conversation"][at]
    assert shown["timers"] == []
    assert any("haven't heard back" in m["body"] for m in shown["outbox"])
    assert [a["action"] for a in shown["audit"]] == ["cancel_timer", "fire_timer"]
    status, _ = await api.post(path(key) + "/timers/nope/fire")
    assert status == 404


async def test_outbox_cancel_and_retry(harness: Harness, api: Api) -> None:
    await _support(harness)
    await api.post(path(KEY) + "/move", {"state": "menu", "run_callbacks": True})
    _, shown = await api.get(path(KEY))
    message = shown["outbox"][0]["id"]
    status, body = await api.post(f"/admin/api/outbox/{message}/retry")
    assert status == 409 and "pending" in body["error"]
    status, body = await api.post(f"/admin/api/outbox/{message}/cancel")
    assert status == 200 and body["message"]["status"] == "failed"
    assert await harness.drain() == 0  # a cancelled message is never sent
    status, body = await api.post(f"/admin/api/outbox/{message}/retry")
    assert status == 200 and body["message"]["status"] == "pending"
    await harness.drain()
    assert harness.twilio is not None
    assert [m.body for m in harness.twilio.sent()][-1].startswith("Hi! Reply 1")


async def test_consent_by_operator_is_in_the_ledger(harness: Harness, api: Api) -> None:
    await _support(harness)
    status, _ = await api.post(path(KEY) + "/consent", {"status": "opted_out"})
    assert status == 200
    ledger = await harness.store.consent_history("+15550001111")
    assert [(c.status, c.source, c.detail) for c in ledger] == [
        ("opted_out", "operator", "operator alice")
    ]
    assert (await harness.phone("+15550001111").send("1")).messages == []
    status, _ = await api.post(path(KEY) + "/consent", {"status": "maybe"})
    assert status == 422


async def test_flows_count_open_conversations_per_state(harness: Harness, api: Api) -> None:
    await _support(harness)
    await harness.phone("+15550002222").send("hi")
    _, body = await api.get("/admin/api/flows")
    support = next(f for f in body["flows"] if f["name"] == "support")
    assert support["open"] == {"menu": 1, "order_lookup": 1}
    assert {"trigger": "message", "source": "menu", "dest": "question"} in support["transitions"]
