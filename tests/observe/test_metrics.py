"""The metrics one process counts (in process, no multiprocess directory): flow errors,
unhandled inputs, transitions, conversations ended, refusals and sends, and /metrics off
unless enabled."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.observe.config import ObserveSettings
from tests.observe.apps import harness

PERSON = "+15557654321"


@pytest.fixture(autouse=True)
def single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_counts_of_one_conversation() -> None:
    async with harness(ObserveSettings(metrics=True)) as h:
        phone = h.phone(PERSON)
        await phone.send("hello")  # starts: ask
        await phone.send("what")  # unhandled in ask
        await phone.send("boom")  # flow error
        await phone.send("yes")  # ask → answered, queues one message
        await phone.send("ok")  # answered → done: ended
        assert await h.drain() == 1
        assert h.twilio is not None
        (sent,) = h.twilio.sent()
        assert await h.twilio.deliver(sent.sid, "sent", "delivered", "sent") == [204] * 3
        blocked = h.phone("+15557654322")
        h.twilio.fail_recipient(blocked.number, 21610)  # they texted STOP to the carrier
        await blocked.send("hello")
        await blocked.send("yes")
        assert await h.drain() == 1
        assert h.app is not None
        response = await h.app.test_client().get("/metrics")
        assert response.status_code == 200
        got = parse(await response.get_data(as_text=True))

    def value(name: str, **labels: str) -> float:
        return got.get((name, frozenset(labels.items())), 0.0)

    assert value("switchboard_conversations_started_total", flow="quiz") == 2
    assert value("switchboard_conversations_ended_total", flow="quiz") == 1
    assert value("switchboard_unhandled_messages_total", flow="quiz", state="ask") == 1
    assert value("switchboard_flow_errors_total", flow="quiz") == 1
    assert value("switchboard_turns_total", outcome="flow_error") == 1
    assert value("switchboard_transitions_total", flow="quiz", source="ask", dest="answered") == 2
    assert value("switchboard_transitions_total", flow="quiz", source="answered", dest="done") == 1
    assert value("switchboard_sends_total", result="sent", code="") == 1
    assert value("switchboard_sends_total", result="rejected", code="21610") == 1
    assert (
        value("switchboard_consent_changes_total", keyword="", source="carrier", status="opted_out")
        == 1
    )
    assert value("switchboard_estimated_cost_total", channel="sms") > 0
    assert value("switchboard_webhook_requests_total", route="/twilio", status="200") == 7
    assert value("switchboard_webhook_requests_total", route="/twilio/status", status="204") == 3
    assert value("switchboard_delivery_status_total", status="delivered", effect="applied") == 1
    assert value("switchboard_delivery_status_total", status="sent", effect="stale") == 1


async def test_metrics_are_off_unless_enabled() -> None:
    async with harness(ObserveSettings()) as h:
        await h.phone(PERSON).send("hello")
        assert h.app is not None
        response = await h.app.test_client().get("/metrics")
        assert response.status_code == 404


def test_the_dashboard_only_asks_for_metrics_we_serve() -> None:
    import json
    import re
    from pathlib import Path

    from bot.observe.metrics import Metrics, exposition
    from storage.analytics import OutboxDepth

    served, families = set(), set()
    for family in text_string_to_metric_families(exposition(Metrics(), OutboxDepth()).decode()):
        if family.type == "counter":
            served.add(family.name + "_total")
        elif family.type == "histogram":
            served |= {family.name + suffix for suffix in ("_bucket", "_count", "_sum")}
        else:
            served.add(family.name)
        families.add(family.name)
    dashboard = json.loads(
        (Path(__file__).parents[2] / "deploy" / "grafana" / "switchboard.json").read_text()
    )
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"switchboard_[a-z_]+", target["expr"])
    }
    assert asked and asked <= served, asked - served
    unshown = {f for f in families if not any(name.startswith(f) for name in asked)}
    assert not unshown, f"metrics without a panel: {unshown}"
