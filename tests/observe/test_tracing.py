"""OpenTelemetry spans, checked with the SDK's in-memory exporter: a turn with its four
phases, a send in the same trace as the turn that queued it (through outbox.traceparent),
and no phone numbers or bodies in spans unless asked for (then hashed by default)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.observe.config import ObserveSettings
from tests.observe.apps import harness

PERSON = "+15557654321"


@pytest.fixture(scope="module")
def provider() -> TracerProvider:
    """The process's tracer provider (OpenTelemetry allows setting it once)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    created = TracerProvider()
    trace.set_tracer_provider(created)
    return created


@pytest.fixture
def spans(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    yield exporter
    processor.shutdown()


def named(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name == name]


def attribute_text(finished: tuple[ReadableSpan, ...]) -> str:
    return " ".join(f"{k}={v!s}" for s in finished for k, v in (s.attributes or {}).items())


async def test_turn_has_phase_children_and_the_send_joins_its_trace(
    spans: InMemorySpanExporter,
) -> None:
    async with harness(ObserveSettings(tracing=True)) as h:
        phone = h.phone(PERSON)
        await phone.send("hello")
        await phone.send("yes")
        assert await h.drain() == 1
    finished = spans.get_finished_spans()
    turns = named(finished, "switchboard.turn")
    assert len(turns) == 2
    for turn in turns:
        assert turn.context is not None
        children = [s for s in finished if s.parent and s.parent.span_id == turn.context.span_id]
        assert {s.name for s in children} >= {
            "switchboard.lock", "switchboard.load", "switchboard.flow", "switchboard.commit",
        }  # fmt: skip
    answered = turns[1]
    assert answered.attributes is not None
    assert answered.attributes["switchboard.state_before"] == "ask"
    assert answered.attributes["switchboard.state_after"] == "answered"
    assert answered.attributes["switchboard.outcome"] == "ok"
    (send,) = named(finished, "switchboard.send")
    assert answered.context is not None and send.context is not None
    assert send.context.trace_id == answered.context.trace_id
    assert send.parent is not None and send.parent.span_id == answered.context.span_id
    text = attribute_text(finished)
    assert PERSON not in text and "5557654321" not in text
    assert "hello" not in text and "Thanks, noted" not in text


async def test_content_is_hashed_when_asked(spans: InMemorySpanExporter) -> None:
    async with harness(ObserveSettings(tracing=True, trace_content="hashed")) as h:
        await h.phone(PERSON).send("hello")
    (turn,) = named(spans.get_finished_spans(), "switchboard.turn")
    assert turn.attributes is not None
    key = f"sms:+15550100000:{PERSON}"
    assert (
        turn.attributes["switchboard.conversation"] == hashlib.sha256(key.encode()).hexdigest()[:16]
    )
    assert turn.attributes["switchboard.body"] == hashlib.sha256(b"hello").hexdigest()[:16]
    assert PERSON not in attribute_text(spans.get_finished_spans())


async def test_a_flow_error_is_the_turns_outcome(spans: InMemorySpanExporter) -> None:
    async with harness(ObserveSettings(tracing=True)) as h:
        phone = h.phone(PERSON)
        await phone.send("hello")
        reply = await phone.send("boom")
        assert "Sorry" in reply.body
    turns = named(spans.get_finished_spans(), "switchboard.turn")
    assert turns[-1].attributes is not None
    assert turns[-1].attributes["switchboard.outcome"] == "flow_error"
