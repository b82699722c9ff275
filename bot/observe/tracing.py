"""OpenTelemetry spans (the optional extra: ``pip install 'switchboard[otel]'``).

One ``switchboard.turn`` span per webhook turn with children ``switchboard.lock``,
``switchboard.load``, ``switchboard.flow`` and ``switchboard.commit``; one ``switchboard.send``
per outbound send. A turn that queues messages stores its W3C ``traceparent`` with them
(``outbox.traceparent``), so their send span is a child of that turn, in the same trace,
whichever process sends it. Message bodies and conversation keys (which hold phone numbers)
stay out of spans unless ``content`` is ``hashed`` (SHA-256, shortened) or ``plain``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Literal

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from storage.analytics import link_outbox, traceparent
from storage.backend import Backend
from storage.records import OutboundMessage

if TYPE_CHECKING:
    from bot.observe.hooks import Probe

__all__ = ["Content", "Tracing"]

Content = Literal["off", "hashed", "plain"]
_PROPAGATOR = TraceContextTextMapPropagator()


class Tracing:
    """Makes the spans; ``store`` carries trace context through the outbox (when a backend)."""

    def __init__(
        self,
        store: Backend | None = None,
        *,
        provider: TracerProvider | None = None,
        content: Content = "off",
    ) -> None:
        self.store = store
        self.tracer = trace.get_tracer("switchboard", tracer_provider=provider)
        self.content = content

    def private(self, value: str) -> str | None:
        """``value`` as spans may show it: not at all, hashed, or as it is."""
        if self.content == "off":
            return None
        if self.content == "hashed":
            return hashlib.sha256(value.encode()).hexdigest()[:16]
        return value

    def turn_span(self, probe: Probe) -> AbstractContextManager[Span]:
        """The span of one turn (current until the turn ends)."""
        event = probe.event
        attributes: dict[str, str] = {
            "messaging.system": "twilio",
            "switchboard.event.kind": event.kind,
            "switchboard.channel": event.channel.value,
            "switchboard.sid": event.sid,
        }
        for name, value in (("conversation", probe.key), ("body", event.text)):
            shown = self.private(value) if value else None
            if shown is not None:
                attributes[f"switchboard.{name}"] = shown
        return self.tracer.start_as_current_span(
            "switchboard.turn", kind=SpanKind.SERVER, attributes=attributes
        )

    def phase_span(self, name: str) -> AbstractContextManager[Span]:
        """A child span of the turn for one phase."""
        return self.tracer.start_as_current_span(f"switchboard.{name}")

    def traceparent(self) -> str | None:
        """The W3C traceparent of the current span."""
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        return carrier.get("traceparent")

    def end_turn(self, probe: Probe) -> None:
        """Put what the turn did on its span (it is still the current span)."""
        span = trace.get_current_span()
        span.set_attribute("switchboard.outcome", str(probe.outcome))
        span.set_attribute("switchboard.conflicts", probe.conflicts)
        for name, value in (
            ("flow", probe.flow),
            ("state_before", probe.before),
            ("state_after", probe.after),
        ):
            if value:
                span.set_attribute(f"switchboard.{name}", value)

    async def link_outbox(self, ids: Sequence[str], parent: str) -> None:
        """Store ``parent`` with the messages a turn queued."""
        if self.store is not None:
            await self.store.run(link_outbox(ids, parent))

    @asynccontextmanager
    async def send_span(self, message: OutboundMessage) -> AsyncIterator[Span]:
        """The span of one send, child of the turn that queued the message (if known)."""
        parent = None
        if self.store is not None:
            parent = await self.store.run(traceparent(message.id), atomic=False)
        context = _PROPAGATOR.extract({"traceparent": parent}) if parent else None
        attributes = {
            "messaging.system": "twilio",
            "switchboard.outbox.id": message.id,
            "switchboard.channel": message.channel,
            "switchboard.flow": message.flow or "",
        }
        for name, value in (("to", message.theirs), ("body", message.body)):
            shown = self.private(value) if value else None
            if shown is not None:
                attributes[f"switchboard.{name}"] = shown
        with self.tracer.start_as_current_span(
            "switchboard.send", context=context, kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            yield span
