"""Hand-off on both backends: held inbound, keywords first, claim, reply, return, time-out."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

from bot import Channel
from bot.testing import Harness
from flows.helpdesk import HELPDESK_NUMBER, NOBODY_ANSWERED, PROMPT, WELCOME_BACK
from tests.admin.conftest import BOB, Api, console_app

PERSON = "+15550004444"
KEY = f"sms:{HELPDESK_NUMBER}:{PERSON}"
HOLDING = "Thanks, a person will get back to you here shortly."


def hpath(action: str, key: str = KEY) -> str:
    return f"/admin/api/handoffs/{quote(key, safe='')}/{action}"


async def _handed_off(harness: Harness) -> None:
    phone = harness.phone(PERSON, to=HELPDESK_NUMBER)
    assert (await phone.send("hi")).messages == [PROMPT]
    assert (await phone.send("agent")).messages == [HOLDING]


async def _conversation(harness: Harness) -> dict[str, object]:
    found = await harness.store.conversation(KEY)
    assert found is not None
    return {"state": found.state, "version": found.version, "data": found.data}


async def test_inbound_during_handoff_never_steps_the_flow(harness: Harness, api: Api) -> None:
    await _handed_off(harness)
    before = await _conversation(harness)
    phone = harness.phone(PERSON, to=HELPDESK_NUMBER)
    for text in ("hello?", "delivery", "agent", "0", "nonsense", "nonsense"):
        assert (await phone.send(text)).messages == []
    assert await _conversation(harness) == before  # not one step taken
    log = await harness.store.log(KEY)
    held = [e.body for e in log if e.meta.get("handoff") == "held"]
    assert held == ["hello?", "delivery", "agent", "0", "nonsense", "nonsense"]
    assert [e.kind for e in log if e.kind == "handoff"] == ["handoff"]
    _, inbox = await api.get("/admin/api/handoffs")
    assert [(c["key"], c["handoff"]["reason"], c["handoff"]["status"]) for c in inbox["handoffs"]] \
        == [(KEY, "asked for a person", "waiting")]  # fmt: skip


async def test_help_and_stop_still_apply_first(harness: Harness) -> None:
    await _handed_off(harness)
    phone = harness.phone(PERSON, to=HELPDESK_NUMBER)
    assert (await phone.send("HELP")).messages != []
    stopped = await phone.send("STOP")
    assert stopped.messages and "unsubscribed" in stopped.messages[0].lower()
    ledger = await harness.store.consent_history(PERSON)
    assert ledger[-1].status == "opted_out"


async def test_claim_reply_and_return(harness: Harness, api: Api) -> None:
    await _handed_off(harness)
    status, body = await api.post(hpath("claim"), {})
    assert status == 200
    version = body["conversation"]["version"]
    status, body = await api.post(hpath("reply"), {"text": "Hi, I'm Alice.", "version": version})
    assert status == 200
    await harness.drain()
    assert harness.twilio is not None
    assert [m.body for m in harness.twilio.sent(PERSON)] == ["Hi, I'm Alice."]
    status, body = await api.post(hpath("return"), {})
    assert status == 200 and body["conversation"]["data"].get("_handoff") is None
    await harness.drain()
    assert [m.body for m in harness.twilio.sent(PERSON)][-1] == WELCOME_BACK
    reply = await harness.phone(PERSON, to=HELPDESK_NUMBER).send("opening hours?")
    assert reply.messages == ["We're open Monday to Friday, 9am to 6pm."]
    log = [e.kind for e in await harness.store.log(KEY)]
    assert [k for k in log if k in {"handoff", "claimed", "operator", "returned"}] == [
        "handoff",
        "claimed",
        "operator",
        "returned",
    ]
    _, shown = await api.get("/admin/api/conversations/" + quote(KEY, safe=""))
    assert [a["action"] for a in shown["audit"]] == ["claim", "reply", "return"]


async def test_two_operators_cannot_both_claim(harness: Harness, api: Api) -> None:
    await _handed_off(harness)
    bob = Api(harness, BOB)
    first, second = await api.post(hpath("claim"), {}), await bob.post(hpath("claim"), {})
    assert (first[0], second[0]) == (200, 409)
    assert "claimed by alice" in second[1]["error"]
    status, _ = await bob.post(hpath("reply"), {"text": "me too"})
    assert status == 409  # only the holder replies
    await harness.drain()
    assert harness.twilio is not None and harness.twilio.sent(PERSON) == []


async def test_reply_out_of_order_is_stale(harness: Harness, api: Api) -> None:
    await _handed_off(harness)
    _, body = await api.post(hpath("claim"), {})
    seen = body["conversation"]["version"]
    assert (await api.post(hpath("reply"), {"text": "one", "version": seen}))[0] == 200
    status, body = await api.post(hpath("reply"), {"text": "two", "version": seen})
    assert status == 409 and "changed since you looked" in body["error"]


async def test_opted_out_person_gets_nothing_from_an_operator(harness: Harness, api: Api) -> None:
    await _handed_off(harness)
    await harness.phone(PERSON, to=HELPDESK_NUMBER).send("STOP")
    await api.post(hpath("claim"), {})
    status, body = await api.post(hpath("reply"), {"text": "are you there?"})
    assert status == 422 and "opted_out" in body["error"]
    await harness.drain()
    assert harness.twilio is not None
    assert [m.body for m in harness.twilio.sent(PERSON) if "are you there" in m.body] == []
    _, audit = await api.get("/admin/api/audit?conversation=" + quote(KEY, safe=""))
    assert sorted(a["action"] for a in audit["audit"]) == ["claim", "reply_refused"]


async def test_nobody_answered_goes_back_to_the_flow(harness: Harness, api: Api) -> None:
    await _handed_off(harness)
    harness.clock.advance(31 * 60)
    await harness.drain()
    assert harness.twilio is not None
    assert [m.body for m in harness.twilio.sent(PERSON)] == [NOBODY_ANSWERED]
    found = await harness.store.conversation(KEY)
    assert found is not None and "_handoff" not in found.data
    reply = await harness.phone(PERSON, to=HELPDESK_NUMBER).send("delivery")
    assert reply.messages == ["Orders arrive in 2-4 working days."]
    _, inbox = await api.get("/admin/api/handoffs")
    assert inbox["handoffs"] == []


async def test_a_claimed_handoff_does_not_time_out(harness: Harness, api: Api) -> None:
    await _handed_off(harness)
    await api.post(hpath("claim"), {})
    harness.clock.advance(31 * 60)
    await harness.drain()
    found = await harness.store.conversation(KEY)
    assert found is not None and found.data["_handoff"]["status"] == "claimed"


async def test_repeated_misunderstanding_hands_off(harness: Harness) -> None:
    phone = harness.phone(PERSON, to=HELPDESK_NUMBER)
    await phone.send("hi")
    assert (await phone.send("blah")).messages[0].startswith("Sorry, I didn't get that")
    assert (await phone.send("blah")).messages == [
        "Sorry, I'm not getting it. A person will answer you here."
    ]
    assert (await phone.send("hello")).messages == []


async def test_operator_takes_over_an_open_conversation(harness: Harness, api: Api) -> None:
    phone = harness.phone(PERSON, to=HELPDESK_NUMBER)
    await phone.send("hi")
    status, body = await api.post(hpath("take_over"), {"reason": "VIP"})
    assert status == 200 and body["conversation"]["data"]["_handoff"]["operator"] == "alice"
    assert (await phone.send("delivery")).messages == []  # held, not answered by the flow
    status, _ = await api.post(hpath("take_over"), {})
    assert status == 409
    status, body = await api.post(hpath("close"), {})
    assert status == 200 and body["conversation"]["closed"] is True
    assert (await phone.send("hi")).messages == [PROMPT]  # afresh


async def test_whatsapp_window_closed_only_a_template(database: str) -> None:
    templates = str(Path(__file__).parent.parent / "transcripts" / "consent_templates.json")
    async with Harness(console_app, database_url=database, compliance_file=templates) as harness:
        api = Api(harness)
        phone = harness.phone(PERSON, to=HELPDESK_NUMBER, channel=Channel.WHATSAPP)
        await phone.send("hi")
        await phone.send("agent")
        key = f"whatsapp:{HELPDESK_NUMBER}:{PERSON}"
        await api.post(hpath("claim", key), {})
        _, options = await api.get(hpath("options", key))
        assert options == {"free_form": True, "templates": ["order_update"]}
        harness.clock.advance(25 * 3600)
        _, options = await api.get(hpath("options", key))
        assert options["free_form"] is False
        status, body = await api.post(hpath("reply", key), {"text": "still there?"})
        assert status == 422 and "window_closed" in body["error"]
        status, _ = await api.post(
            hpath("reply", key), {"text": "About your order", "template": "order_update"}
        )
        assert status == 200
        await harness.drain()
        assert harness.twilio is not None
        sent = harness.twilio.sent(f"whatsapp:{PERSON}")
        assert [m.content_sid for m in sent][-1] == "HX0123456789abcdef0123456789abcdef"


async def test_concurrent_claims_one_wins(harness: Harness, api: Api) -> None:
    await _handed_off(harness)
    bob = Api(harness, BOB)
    results = await asyncio.gather(api.post(hpath("claim"), {}), bob.post(hpath("claim"), {}))
    assert sorted(status for status, _ in results) == [200, 409]
    found = await harness.store.conversation(KEY)
    assert found is not None and found.data["_handoff"]["status"] == "claimed"
    claims = [e for e in await harness.store.log(KEY) if e.kind == "claimed"]
    assert len(claims) == 1


async def test_saving_data_keeps_the_handoff(harness: Harness, api: Api) -> None:
    await _handed_off(harness)
    status, body = await api.post(
        "/admin/api/conversations/" + quote(KEY, safe="") + "/data", {"data": {"vip": True}}
    )
    assert status == 200 and body["conversation"]["data"]["vip"] is True
    assert body["conversation"]["data"]["_handoff"]["reason"] == "asked for a person"


def _data_path() -> str:
    return "/admin/api/conversations/" + quote(KEY, safe="") + "/data"


async def test_an_edit_cannot_plant_a_handoff_or_another_framework_key(
    harness: Harness, api: Api
) -> None:
    """A planted ``_handoff`` was stored: the person's messages were then held for
    operators, with no hand-off in the inbox to answer them."""
    phone = harness.phone(PERSON, to=HELPDESK_NUMBER)
    assert (await phone.send("hi")).messages == [PROMPT]
    before = await _conversation(harness)
    for planted, words in (({"_handoff": {"status": "waiting"}}, "hand-off actions"),
                           ({"_reprompt": {"count": 9}}, "keys starting with _")):  # fmt: skip
        status, body = await api.post(_data_path(), {"data": {"vip": True, **planted}})
        [name] = planted
        assert status == 422 and f"data key {name!r}" in body["error"] and words in body["error"]
    assert await _conversation(harness) == before  # nothing written
    assert (await api.get("/admin/api/audit"))[1]["audit"] == []
    assert (await api.get("/admin/api/handoffs"))[1]["handoffs"] == []
    assert (await phone.send("delivery")).messages != []  # the flow still answers


async def test_an_edit_cannot_change_or_remove_the_handoff_but_may_send_it_unchanged(
    harness: Harness, api: Api
) -> None:
    await _handed_off(harness)
    before, stored = await _conversation(harness), await harness.store.conversation(KEY)
    assert stored is not None
    record = stored.data["_handoff"]
    for changed in ({**record, "status": "claimed", "operator": "alice"}, None, {}):
        status, body = await api.post(_data_path(), {"data": {"_handoff": changed}})
        assert status == 422 and "'_handoff'" in body["error"], changed
        assert "hand-off actions" in body["error"]
    assert await _conversation(harness) == before
    status, body = await api.post(_data_path(), {"data": {"vip": True, "_handoff": record}})
    assert status == 200 and body["conversation"]["data"] == {"vip": True, "_handoff": record}
    _, inbox = await api.get("/admin/api/handoffs")
    assert [c["handoff"]["status"] for c in inbox["handoffs"]] == ["waiting"]
