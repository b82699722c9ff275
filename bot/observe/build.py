"""Build the process's :class:`~bot.observe.hooks.Observer` from its settings (once, in
``bot.runtime``), and prepare ``prometheus_client``'s multiprocess mode before workers start."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, MutableMapping

from bot.errors import ConfigError
from bot.observe.config import ObserveSettings
from bot.observe.hooks import Observer
from storage.backend import Backend

__all__ = ["build_observer", "prepare_multiprocess"]


def build_observer(settings: ObserveSettings, store: object) -> Observer:
    """The observer ``settings`` ask for; ``store`` carries trace context when tracing."""
    metrics = tracing = None
    if settings.metrics:
        from bot.observe.metrics import Metrics

        metrics = Metrics()
    if settings.tracing:
        try:
            from bot.observe.tracing import Tracing
        except ImportError as exc:
            raise ConfigError(
                "SWITCHBOARD_TRACING needs OpenTelemetry: pip install 'switchboard[otel]'"
            ) from exc
        backend = store if isinstance(store, Backend) else None
        tracing = Tracing(backend, content=settings.trace_content)
    log_turns = settings.log_turns or settings.log_format == "json"
    return Observer(metrics, tracing, log_turns=log_turns, log_content=settings.log_content)


def prepare_multiprocess(env: MutableMapping[str, str]) -> Callable[[], None]:
    """With metrics on, give the workers a fresh ``PROMETHEUS_MULTIPROC_DIR`` (unless one is
    set) so a scrape of any worker sums all of them; returns what removes it afterwards."""
    if not ObserveSettings.from_env(env).metrics or env.get("PROMETHEUS_MULTIPROC_DIR"):
        return lambda: None
    folder = tempfile.mkdtemp(prefix="switchboard-metrics-")
    env["PROMETHEUS_MULTIPROC_DIR"] = folder

    def remove() -> None:
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)

    return remove
