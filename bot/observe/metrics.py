"""Prometheus metrics, correct with several Hypercorn workers.

Counters and histograms live in one :class:`Metrics` per process. When
``PROMETHEUS_MULTIPROC_DIR`` is set (``switchboard serve`` sets it for its workers when
metrics are on), ``prometheus_client`` keeps every value in a file per process in that
directory and :func:`exposition` sums them, so any worker answers a scrape with the totals
of all. Outbox depth, the oldest pending message and hand-offs waiting are read from the
store at scrape time (one query), so they are right whichever worker answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from storage.records import Conversation, OutboundMessage, OutboxChange, TurnWrite

if TYPE_CHECKING:
    from bot.observe.hooks import Probe
    from storage.analytics import OutboxDepth

__all__ = ["CONTENT_TYPE", "Metrics", "exposition", "multiprocess_dir"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LATE = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900)


def multiprocess_dir() -> str | None:
    """The directory of the per-process value files, when multiprocess mode is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """Every Switchboard counter and histogram (see docs/observability.md), in ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # no *_created series: multiprocess mode cannot serve them, so one process would
        # expose what a scrape of several does not
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r, c, h = self.registry, Counter, Histogram
        p = "switchboard_"
        self.requests = c(
            p + "webhook_requests", "Webhook requests", ["route", "status"], registry=r
        )
        self.turn_seconds = h(
            p + "turn_seconds", "Turn latency", ["outcome"], buckets=_LATENCY, registry=r
        )
        self.phase_seconds = h(
            p + "turn_phase_seconds",
            "Turn latency by phase",
            ["phase"],
            buckets=_LATENCY,
            registry=r,
        )
        self.turns = c(p + "turns", "Turns by outcome", ["outcome"], registry=r)
        self.duplicates = c(p + "duplicates", "Duplicates answered from the store", registry=r)
        self.conflicts = c(p + "version_conflicts", "Version conflicts redone", registry=r)
        self.flow_errors = c(p + "flow_errors", "Flow errors (apologies)", ["flow"], registry=r)
        self.unhandled = c(
            p + "unhandled_messages", "Inputs no transition took", ["flow", "state"], registry=r
        )
        self.started = c(p + "conversations_started", "Conversations started", ["flow"], registry=r)
        self.ended = c(p + "conversations_ended", "Conversations ended", ["flow"], registry=r)
        self.transitions = c(
            p + "transitions", "State transitions", ["flow", "source", "dest"], registry=r
        )
        self.consent = c(
            p + "consent_changes", "Consent changes", ["keyword", "source", "status"], registry=r
        )
        self.refused = c(
            p + "gate_refused", "Messages refused by the gate", ["reason", "where"], registry=r
        )
        self.sends = c(p + "sends", "Outbox send results", ["result", "code"], registry=r)
        self.retries = c(p + "send_retries", "Sends put back for a retry", registry=r)
        self.delivery = c(
            p + "delivery_status", "MessageStatus callbacks", ["status", "effect"], registry=r
        )
        self.segments = c(p + "segments", "Segments sent", ["channel"], registry=r)
        self.cost = c(
            p + "estimated_cost", "Estimated cost of what was sent", ["channel"], registry=r
        )
        self.timers = c(p + "timers_fired", "Timers fired", registry=r)
        self.timer_late = h(
            p + "timer_lateness_seconds", "How late timers fired", buckets=_LATE, registry=r
        )

    def request(self, route: str, status: int) -> None:
        """One webhook request answered."""
        self.requests.labels(route, str(status)).inc()

    def turn(self, probe: Probe, seconds: float) -> None:
        """A turn ended (see :class:`bot.observe.hooks.Probe`)."""
        outcome = str(probe.outcome)
        self.turn_seconds.labels(outcome).observe(seconds)
        self.turns.labels(outcome).inc()
        for phase, spent in probe.parts.items():
            self.phase_seconds.labels(phase).observe(spent)
        if probe.conflicts:
            self.conflicts.inc(probe.conflicts)
        if outcome == "duplicate":
            self.duplicates.inc()
        elif outcome == "flow_error":
            self.flow_errors.labels(probe.flow or "").inc()

    def committed(self, stored: Conversation | None, write: TurnWrite) -> None:
        """What a committed turn changed: conversations, states, consent, refusals."""
        new = write.conversation
        started = stored is None or stored.flow != new.flow or (stored.closed and write.moved)
        if write.save_state and started:
            self.started.labels(new.flow).inc()
        if write.save_state and new.closed and (started or not stored or not stored.closed):
            self.ended.labels(new.flow).inc()
        first = write.log[0] if write.log else None
        if first is not None and write.moved and first.state_before != first.state_after:
            self.transitions.labels(new.flow, first.state_before or "", new.state).inc()
        keyword = str(first.meta.get("keyword", "")) if first is not None else ""
        for change in write.consent:  # keyword: opt_out, opt_in (the kind, not the word)
            self.consent.labels(keyword, str(change.source), str(change.status)).inc()
        for entry in write.log:
            if entry.kind == "refused":
                self.refused.labels(str(entry.meta.get("reason", "")), "turn").inc()

    def outbox_change(self, message: OutboundMessage, change: OutboxChange) -> None:
        """The outbox worker recorded ``change`` (sent, retry, rejected, blocked, ...)."""
        code = "" if change.error_code is None else str(change.error_code)
        self.sends.labels(change.event, code).inc()
        if change.event == "retry":
            self.retries.inc()
        elif change.event == "blocked":
            self.refused.labels(str(change.detail.get("reason", "")), "send").inc()
        elif change.event == "sent":
            self.segments.labels(message.channel).inc(change.segments or 0)
            self.cost.labels(message.channel).inc(_money(change.cost))

    def timer_fired(self, late_seconds: float) -> None:
        """A timer's turn committed, ``late_seconds`` after it was due."""
        self.timers.inc()
        self.timer_late.observe(late_seconds)


def _money(value: str | None) -> float:
    try:
        return float(Decimal(value)) if value else 0.0
    except InvalidOperation:
        return 0.0


class _Snapshot(Collector):
    """Gauges read from the store for this scrape."""

    def __init__(self, depth: OutboxDepth) -> None:
        self.depth = depth

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_status = GaugeMetricFamily(
            "switchboard_outbox_messages", "Outbox messages by status", labels=["status"]
        )
        for status, count in sorted(self.depth.by_status.items()):
            by_status.add_metric([status], count)
        yield by_status
        yield GaugeMetricFamily(
            "switchboard_outbox_oldest_pending_seconds",
            "Age of the oldest pending message (0 when none)",
            value=self.depth.oldest_pending_s,
        )
        yield GaugeMetricFamily(
            "switchboard_handoffs_waiting",
            "Conversations waiting for a person (always 0: not yet wired to hand-off)",
            value=0,
        )


def exposition(metrics: Metrics, depth: OutboxDepth | None) -> bytes:
    """The text a scrape gets: every process's counters (summed in multiprocess mode) and
    the store's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    collectors: Iterable[Collector]
    if multiprocess_dir():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        collectors = ()
    else:
        collectors = (metrics.registry,)
    for collector in collectors:
        registry.register(collector)
    if depth is not None:
        registry.register(_Snapshot(depth))
    return generate_latest(registry)
