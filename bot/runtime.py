"""The composition root: everything one Switchboard process runs, built once from settings.

:func:`build_runtime` compiles and validates the flows, then builds, in dependency order and
with nothing patched onto anything afterwards: the store, the compliance gate, the outbox
worker (with its ``Sender``, Twilio's REST API when credentials are configured), the engine
(which wakes that worker after a commit that queued messages), the timer runner, the call
answerer and the status-callback handlers. The web app (``bot.web.create_app``), the
``switchboard`` commands and the test harness are all clients of a :class:`Runtime`; none of
them builds these parts itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bot.admin.service import Operations
from bot.clock import Clock, ShiftedClock, SystemClock
from bot.compliance.config import Compliance
from bot.compliance.gate import Gate
from bot.engine.engine import Engine
from bot.errors import ConfigError
from bot.events.model import Params
from bot.flow.definition import CompiledFlow, Flow, compile_flow
from bot.flow.routing import Router
from bot.flow.subflow import check_calls, with_children
from bot.observe.build import build_observer
from bot.observe.hooks import Observer
from bot.outbound.delivery import DeliveryCallbacks
from bot.outbound.notices import Notifier
from bot.outbound.rest import TwilioRest
from bot.outbound.sender import Sender
from bot.outbound.timers import TimerRunner
from bot.outbound.verify import TwilioVerify
from bot.outbound.worker import OutboxWorker
from bot.settings import Settings
from bot.voice.answer import CallAnswerer
from bot.voice.callbacks import CallCallbacks
from storage.backend import Backend
from storage.base import Store
from storage.url import open_store

__all__ = ["Runtime", "StatusHandler", "build_runtime", "compile_flows"]

# One kind of status callback: (its parameters, the callback URL's query string) → done.
StatusHandler = Callable[[Params, Mapping[str, str]], Awaitable[None]]


@dataclass(frozen=True)
class Runtime:
    """The parts of one process, built by :func:`build_runtime`; start, stop and drain them."""

    settings: Settings
    store: Store
    clock: Clock
    gate: Gate
    engine: Engine
    outbox: OutboxWorker
    timers: TimerRunner
    calls: CallAnswerer
    # (parameter that identifies the kind, handler), tried in order: a transcription
    # callback also carries CallStatus, so it comes first.
    status_handlers: tuple[tuple[str, StatusHandler], ...]
    # What operators see and do (the admin API, the console, `switchboard conversations`);
    # None on a store that cannot run the admin queries.
    admin: Operations | None = None
    # The signed webhook about hand-offs (issue 13); None on a store that cannot run it.
    notifier: Notifier | None = None
    # metrics, spans and turn logs (bot.observe); a no-op unless settings.observe asks
    observer: Observer = field(default_factory=Observer)
    verify_api: TwilioRest | None = None  # Twilio Verify's client, closed on stop

    async def start(self) -> None:
        """Open the store, then start the background workers (unless configured off)."""
        await self.store.open()
        if self.settings.outbound.worker:
            self.outbox.start()
            self.timers.start()
            if self.notifier is not None:
                self.notifier.start()

    async def stop(self) -> None:
        """Let running calls finish, stop the workers, close the store."""
        await self.calls.drain()
        await self.timers.stop()
        if self.notifier is not None:
            await self.notifier.stop()
        await self.outbox.stop()
        if self.verify_api is not None:
            await self.verify_api.close()
        await self.store.close()

    async def drain(self) -> int:
        """Fire due timers and send due messages until nothing is left; returns how many."""
        total = 0
        while done := await self.timers.drain() + await self.outbox.drain():
            total += done
        return total


def compile_flows(flows: Iterable[type[Flow]], router: Router) -> dict[str, CompiledFlow]:
    """Compile and validate every flow; :class:`ConfigError` if the router names others."""
    compiled = {flow.name: compile_flow(flow) for flow in with_children(list(flows))}
    check_calls(compiled)  # every child registered, every exit handled (bot.flow.subflow)
    missing = router.flow_names() - compiled.keys()
    if missing:
        raise ConfigError(f"the router names flows that are not registered: {sorted(missing)}")
    return compiled


def _compliance(settings: Settings) -> Compliance:
    if settings.compliance_file:
        return Compliance.from_file(settings.compliance_file)
    return Compliance()


def _clock(settings: Settings) -> Clock:
    """The wall clock; in dev mode one that ``POST /dev/clock`` can move forward."""
    return ShiftedClock(settings.dev_clock_file) if settings.dev else SystemClock()


def _twilio_sender(settings: Settings) -> Sender | None:
    """Twilio's REST API as the outbox's sender, when credentials are configured."""
    config = settings.outbound
    if config.credentials is None:
        return None
    return TwilioRest(
        config.credentials, timeout=config.request_timeout, max_concurrency=config.max_concurrency,
        page_size=config.lookup_page_size,
    )  # fmt: skip


def _verify_api(settings: Settings) -> TwilioRest | None:
    """Twilio Verify's client (its own timeout, inside a webhook's budget), when configured."""
    config = settings.outbound
    if config.credentials is None or config.verify.service_sid is None:
        return None
    return TwilioRest(config.credentials, timeout=config.verify.timeout, max_concurrency=4)


def build_runtime(
    flows: Iterable[type[Flow]],
    router: Router,
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    compliance: Compliance | None = None,
) -> Runtime:
    """Build every part of a process for ``flows`` routed by ``router``.

    Flows are compiled and validated here, so a broken flow stops the process before it
    serves. ``store`` defaults to the one ``settings.database_url`` names (opened by
    :meth:`Runtime.start`); ``compliance`` to ``settings.compliance_file`` or the defaults.
    """
    compiled = compile_flows(flows, router)
    store = store or open_store(settings.database_url)
    clock = clock or _clock(settings)
    gate = Gate(store, compliance or _compliance(settings))
    config = settings.outbound
    observer = build_observer(settings.observe, store)
    outbox = OutboxWorker(
        store, config, clock, gate, sender=_twilio_sender(settings),
        public_url=settings.public_url, observer=observer,
    )  # fmt: skip
    verify_api = _verify_api(settings)
    verifier = TwilioVerify(verify_api, config.verify, store, gate, clock) if verify_api else None
    engine = Engine(
        store, compiled, router, gate, clock=clock, apology=settings.apology,
        on_enqueued=outbox.wake, verifier=verifier, observer=observer,
    )  # fmt: skip
    timers = TimerRunner(
        engine, store, poll_seconds=config.poll_seconds, lease_seconds=config.lease_seconds,
        batch=config.batch,
    )  # fmt: skip
    calls = CallAnswerer(engine, settings.voice_budget, settings.voice_hold_prompt)
    voice_status = CallCallbacks(engine)
    handlers: tuple[tuple[str, StatusHandler], ...] = (
        ("MessageStatus", DeliveryCallbacks(store, outbox, clock)),
        ("TranscriptionStatus", voice_status),
        ("RecordingStatus", voice_status),
        ("CallStatus", voice_status),
    )
    admin, notifier = None, None
    if isinstance(store, Backend):  # the admin queries are programs a Backend runs
        admin = Operations(engine, store, store, timers, outbox.wake)
        notifier = Notifier(settings.handoff_notices, store, clock)
    return Runtime(
        settings, store, clock, gate, engine, outbox, timers, calls, handlers, admin,
        verify_api=verify_api, notifier=notifier, observer=observer,
    )  # fmt: skip
