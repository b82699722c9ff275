"""The observation hook: what the engine and the outbox worker report, and to whom.

The engine opens one :class:`Probe` per turn (:meth:`Observer.turn`), times its phases
(``lock``, ``load``, ``flow``, ``commit``) with :meth:`Probe.phase`, and reports what it
committed and how the turn ended. The outbox worker reports every outbox change
(:meth:`Observer.outbox_change`). An :class:`Observer` built with no parts does nothing but
read a clock, so the engine always calls it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    nullcontext,
)
from contextvars import ContextVar
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING

from bot.events.internal import TimerFired
from bot.events.model import Event
from storage.records import Conversation, OutboundMessage, OutboxChange, TurnWrite

if TYPE_CHECKING:
    from bot.observe.metrics import Metrics
    from bot.observe.tracing import Tracing

__all__ = ["Observer", "Outcome", "Probe"]

turns_log = logging.getLogger("switchboard.turns")
_NOTHING = nullcontext()
_current: ContextVar[Probe | None] = ContextVar("switchboard_probe", default=None)


class Outcome(StrEnum):
    """How a turn ended."""

    OK = "ok"
    DUPLICATE = "duplicate"  # answered from the store
    IGNORED = "ignored"  # nothing to do (a callback for a conversation we never had)
    FLOW_ERROR = "flow_error"  # the flow raised: rolled back, the caller got the apology
    FAILED = "failed"  # an exception left the engine (the store was down, ...)
    CANCELLED = "cancelled"  # the request went away mid-turn (the client disconnected)


class Observer:
    """Where observations go: Prometheus ``metrics``, OpenTelemetry ``tracing``, and a log
    line per turn on ``switchboard.turns`` when ``log_turns`` (with what was said and
    answered when ``log_content``: dev mode). Each part is optional."""

    def __init__(
        self,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        *,
        log_turns: bool = False,
        log_content: bool = False,
    ) -> None:
        self.metrics = metrics
        self.tracing = tracing
        self.log_turns = log_turns
        self.log_content = log_content  # the turn line shows what was said and answered (dev)

    def turn(self, key: str, event: Event) -> Probe:
        """A probe for one turn; use it as a context manager around the whole turn. With no
        part to tell (no metrics, no tracing, no turn log) it is a shared one that does
        nothing: nobody would read what it noted."""
        if self.metrics is None and self.tracing is None and not self.log_turns:
            return _QUIET
        return Probe(self, key, event)

    def note(self, what: Outcome) -> None:
        """Mark the current turn (``FLOW_ERROR``); counted once the turn ends."""
        probe = _current.get()
        if probe is not None and probe.observer is self:
            probe.outcome = what

    def unhandled(self, flow: str, state: str, kind: str) -> None:
        """The flow had no transition for an input (it answered its ``invalid`` handler)."""
        if self.metrics is not None:
            self.metrics.unhandled.labels(flow, state).inc()

    def outbox_change(self, message: OutboundMessage, change: OutboxChange) -> None:
        """The outbox worker wrote ``change`` to ``message``."""
        if self.metrics is not None:
            self.metrics.outbox_change(message, change)

    def sending(self, message: OutboundMessage) -> AbstractAsyncContextManager[object]:
        """A span around one outbound send, child of the turn that queued it (tracing on)."""
        if self.tracing is None:
            return nullcontext()
        return self.tracing.send_span(message)

    def consent_change(self, keyword: str, source: str, status: str) -> None:
        """A consent change made outside a turn (a 21610 carrier opt-out)."""
        if self.metrics is not None:
            self.metrics.consent.labels(keyword, source, status).inc()

    def delivery(self, status: str, applied: bool) -> None:
        """A MessageStatus callback: ``applied`` when it moved the message's status."""
        if self.metrics is not None:
            self.metrics.delivery.labels(status, "applied" if applied else "stale").inc()


def _quoted(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _content(event: Event, write: TurnWrite | None) -> str:
    """`` | 'hi' → 'Hello!'``: what the turn was given and what it answered and queued.

    What was said is the logged text, masked where the flow said it is a secret (a
    verification code); a duplicate or an ignored event shows nothing of it."""
    if write is None:
        return ""
    text = next((e.body for e in write.log if e.direction == "in"), "")
    said = _quoted(text) if text else f"[{event.kind}]"
    if isinstance(event, TimerFired):
        said = f"[timer {event.kind}]"
    replies = [_quoted(e.body) for e in write.log if e.direction == "out" and e.kind != "refused"]
    answered = " ".join(replies) or "nothing"
    sends = "".join(f"; sends {_quoted(m.body)} to {m.theirs}" for m in write.outbox)
    return f" | {said} → {answered}{sends}"


class Probe:
    """One turn being observed: phase timings, conflicts, outcome (see :class:`Observer`)."""

    def __init__(self, observer: Observer, key: str, event: Event) -> None:
        self.observer = observer
        self.key = key
        self.event = event
        self.outcome = Outcome.OK
        self.flow = ""
        self.before: str | None = None
        self.after: str | None = None
        self.conflicts = 0
        self.parts: dict[str, float] = {}
        self.traceparent: str | None = None
        self.write: TurnWrite | None = None  # what the turn committed
        self._start = 0.0
        self._span: AbstractContextManager[object] | None = None

    def __enter__(self) -> Probe:
        self._start = time.perf_counter()
        self._token = _current.set(self)
        tracing = self.observer.tracing
        if tracing is not None:
            self._span = tracing.turn_span(self)
            self._span.__enter__()
            self.traceparent = tracing.traceparent()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, asyncio.CancelledError):
            self.outcome = Outcome.CANCELLED
        elif exc is not None:
            self.outcome = Outcome.FAILED
        seconds = time.perf_counter() - self._start
        _current.reset(self._token)
        if self._span is not None and self.observer.tracing is not None:
            self.observer.tracing.end_turn(self)
            self._span.__exit__(kind, exc, tb)
        self._report(seconds)

    def _report(self, seconds: float) -> None:
        metrics = self.observer.metrics
        if metrics is not None:
            metrics.turn(self, seconds)
        if self.observer.log_turns and turns_log.isEnabledFor(logging.INFO):
            content = _content(self.event, self.write) if self.observer.log_content else ""
            turns_log.info(
                "turn %s %s %s → %s (%s) in %.1f ms%s",
                self.key, self.flow or "-", self.before, self.after, self.outcome,
                seconds * 1000, content,
                extra={
                    "conversation": self.key, "flow": self.flow, "state_before": self.before,
                    "state_after": self.after, "sid": self.event.sid, "kind": self.event.kind,
                    "duration_ms": round(seconds * 1000, 3), "outcome": str(self.outcome),
                },
            )  # fmt: skip

    def phase(self, name: str) -> AbstractContextManager[None]:
        """Time one phase of the turn (and trace it as a child span). Only metrics read the
        times and only tracing opens spans: without either, nothing is timed."""
        observer = self.observer
        if observer.metrics is None and observer.tracing is None:
            return _UNTIMED
        return _Phase(self, name)

    def finish(self, outcome: Outcome) -> None:
        """Record how the turn ended (a flow error noted during the step wins over OK)."""
        if self.outcome is Outcome.OK:
            self.outcome = outcome

    def conflict(self) -> None:
        """A version conflict: the step is being redone."""
        self.conflicts += 1

    async def committed(self, stored: Conversation | None, write: TurnWrite) -> None:
        """The turn's write is committed; ``stored`` is what it replaced. Links the messages
        it queued to the turn's trace (tracing on)."""
        entry = write.log[0] if write.log else None
        self.write = write
        self.flow = write.conversation.flow
        self.before = entry.state_before if entry else None
        self.after = write.conversation.state
        metrics, tracing = self.observer.metrics, self.observer.tracing
        if metrics is not None:
            metrics.committed(stored, write)
            if write.fired is not None:
                metrics.timer_fired(max(0.0, (write.at - write.fired.due_at).total_seconds()))
        if tracing is not None and write.outbox and self.traceparent:
            await tracing.link_outbox([m.id for m in write.outbox], self.traceparent)


class _Phase:
    """One phase of a turn being timed: a class, not a ``@contextmanager`` generator, because
    every turn opens four (a generator-based one cost the engine turn several µs; issue 18)."""

    __slots__ = ("_name", "_probe", "_span", "_start")

    def __init__(self, probe: Probe, name: str) -> None:
        self._probe, self._name = probe, name
        self._span: AbstractContextManager[object] | None = None

    def __enter__(self) -> None:
        self._start = time.perf_counter()
        tracing = self._probe.observer.tracing
        if tracing is not None:
            self._span = tracing.phase_span(self._name)
            self._span.__enter__()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        try:
            return self._span.__exit__(kind, exc, tb) if self._span is not None else None
        finally:
            parts, name = self._probe.parts, self._name
            parts[name] = parts.get(name, 0.0) + time.perf_counter() - self._start


class _Untimed:
    """A phase nobody reads: enters and exits, nothing else (one shared instance)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


_UNTIMED = _Untimed()


class _Quiet(Probe):
    """The probe of an observer with no parts: every report is dropped (one shared instance,
    so it keeps nothing of a turn)."""

    def __init__(self) -> None:
        super().__init__(Observer(), "", None)  # type: ignore[arg-type]

    def __enter__(self) -> Probe:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def phase(self, name: str) -> AbstractContextManager[None]:
        return _UNTIMED

    def finish(self, outcome: Outcome) -> None:
        return None

    def conflict(self) -> None:
        return None

    async def committed(self, stored: Conversation | None, write: TurnWrite) -> None:
        return None


_QUIET = _Quiet()
