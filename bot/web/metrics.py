"""``GET /metrics`` (Prometheus text format) and the webhook request counter.

Mounted only when metrics are on (``SWITCHBOARD_METRICS=1``); with
``SWITCHBOARD_METRICS_TOKEN`` set a scrape must carry ``Authorization: Bearer <token>``
(Prometheus' ``authorization`` / ``bearer_token`` scrape setting), like the console's token.
"""

from __future__ import annotations

import hmac
import logging

from quart import Quart, Response, request

from bot.observe.metrics import CONTENT_TYPE, Metrics, exposition
from bot.runtime import Runtime
from storage.analytics import OutboxDepth, outbox_depth
from storage.backend import Backend

__all__ = ["mount_metrics"]

log = logging.getLogger("switchboard.web")


def _authorised(token: str | None) -> bool:
    if token is None:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def _depth(runtime: Runtime) -> OutboxDepth | None:
    store = runtime.store
    if not isinstance(store, Backend):
        return None
    try:
        return await store.run(outbox_depth(store.dialect, runtime.clock.now()), atomic=False)
    except Exception as exc:  # a scrape still answers the counters when the store is down
        log.warning("metrics: could not read the outbox depth: %s", exc)
        return None


def mount_metrics(app: Quart, runtime: Runtime) -> None:
    """Serve ``/metrics`` and count every request by route and status (metrics on only)."""
    metrics: Metrics | None = runtime.observer.metrics
    if metrics is None:
        return
    token = runtime.settings.observe.metrics_token

    @app.after_request
    async def count(response: Response) -> Response:
        rule = request.url_rule
        metrics.request(rule.rule if rule is not None else "unmatched", response.status_code)
        return response

    @app.get("/metrics")
    async def scrape() -> Response:
        if not _authorised(token):
            return Response("metrics need the bearer token\n", status=401,
                            headers={"WWW-Authenticate": "Bearer"},
                            content_type="text/plain; charset=utf-8")  # fmt: skip
        body = exposition(metrics, await _depth(runtime))
        return Response(body, content_type=CONTENT_TYPE)
