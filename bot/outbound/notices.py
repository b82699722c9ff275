"""Hand-off notifications: a signed webhook when a conversation is handed off or waits too
long, so a team can wire Slack or a pager without Switchboard knowing either.

:class:`Notifier` looks at the hand-off inbox every ``poll_seconds``: each hand-off gets one
``handed_off`` notice, and one ``waiting`` notice once it has waited ``wait_seconds`` unclaimed.
Notices are rows (``handoff_notices``, migration 0011) inserted once per hand-off and event,
then claimed with a lease and POSTed as JSON; a failure (no answer, not 2xx) is retried with
exponential backoff up to ``max_attempts``, each failure logged. Several instances may run it:
the insert and the lease make each notice one sender's at a time (at least once, not exactly
once: a receiver de-duplicates on the ``id`` field).

The signature: header ``X-Switchboard-Signature: t=<unix time>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256 with the shared secret over ``"<t>.<body>"``; :func:`verify` checks one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp

from bot.clock import Clock
from bot.errors import ConfigError
from bot.flow.handoff import Status, current
from bot.outbound.background import Background
from storage.admin_queries import Runner
from storage.handoff_queries import Notice, add_notice, claim_notices, finish_notice, inbox
from storage.records import Conversation

__all__ = ["SIGNATURE_HEADER", "NoticeSettings", "Notifier", "sign", "verify"]

log = logging.getLogger("switchboard.handoff")

SIGNATURE_HEADER = "X-Switchboard-Signature"


@dataclass(frozen=True)
class NoticeSettings:
    """``SWITCHBOARD_HANDOFF_WEBHOOK`` (off when unset), ``…_SECRET``, ``…_WAIT`` (seconds)."""

    url: str | None = None
    secret: str = field(default="", repr=False)
    wait_seconds: float = 900.0
    poll_seconds: float = 5.0
    max_attempts: int = 8
    timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.url and len(self.secret) < 16:
            raise ConfigError("SWITCHBOARD_HANDOFF_SECRET must be set (16+ characters) "
                              "with SWITCHBOARD_HANDOFF_WEBHOOK")  # fmt: skip

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NoticeSettings:
        env = os.environ if env is None else env
        try:
            wait = float(env.get("SWITCHBOARD_HANDOFF_WAIT", "900"))
        except ValueError as exc:
            raise ConfigError("SWITCHBOARD_HANDOFF_WAIT must be a number of seconds") from exc
        return cls(env.get("SWITCHBOARD_HANDOFF_WEBHOOK") or None,
                   env.get("SWITCHBOARD_HANDOFF_SECRET", ""), wait)  # fmt: skip


def sign(secret: str, body: bytes, at: int) -> str:
    """The signature header's value for ``body`` sent at unix time ``at``."""
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``, made within ``tolerance`` seconds."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        at = int(parts.get("t", ""))
    except ValueError:
        return False
    return abs(now - at) <= tolerance and hmac.compare_digest(sign(secret, body, at), header)


def _payload(c: Conversation, event: str, now: datetime) -> dict[str, object]:
    found = current(c.data)
    handoff = found.to_json() if found else {}
    return {"id": f"{handoff.get('id')}:{event}", "event": event, "at": now.isoformat(),
            "conversation": c.key, "flow": c.flow, "state": c.state, "channel": c.channel,
            "theirs": c.theirs, "handoff": handoff}  # fmt: skip


class Notifier:
    """Records and sends hand-off notices (see the module doc)."""

    def __init__(self, settings: NoticeSettings, runner: Runner, clock: Clock) -> None:
        self.settings, self.runner, self.clock = settings, runner, clock
        self.loop = Background(
            "switchboard-handoff-notices", self._round, settings.poll_seconds, log=log,
            failed="hand-off notices: a round failed; trying again",
        )  # fmt: skip

    @property
    def enabled(self) -> bool:
        return bool(self.settings.url)

    def start(self) -> None:
        if self.enabled:
            self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def _round(self) -> bool:
        await self.run_once()
        return False  # each round sends what is due; the next waits the poll interval

    async def run_once(self) -> int:
        """Record new notices and send the due ones; returns how many were sent."""
        if not self.enabled:
            return 0
        await self.record()
        d, now = self.runner.dialect, self.clock.now()
        lease = now + timedelta(seconds=self.settings.timeout * 4)
        claim = claim_notices(d, now, lease, 50, self.settings.max_attempts)
        due = await self.runner.run(claim)
        sent = 0
        async with aiohttp.ClientSession() as session:
            for notice in due:
                sent += await self._send(session, notice)
        return sent

    async def record(self) -> None:
        """One ``handed_off`` notice per hand-off; ``waiting`` once it has waited too long."""
        d, now = self.runner.dialect, self.clock.now()
        waited = timedelta(seconds=self.settings.wait_seconds)
        for c in await self.runner.run(inbox(d, 500), atomic=False):
            found = current(c.data)
            if found is None:
                continue
            events = ["handed_off"]
            since = datetime.fromisoformat(found.since)
            if found.status is Status.WAITING and now - since >= waited:
                events.append("waiting")
            for event in events:
                notice = Notice(found.id, event, c.key, _payload(c, event, now))
                if await self.runner.run(add_notice(d, notice, now)):
                    log.info("hand-off notice %s for %s recorded", event, c.key)

    async def _send(self, session: aiohttp.ClientSession, notice: Notice) -> int:
        url, now = self.settings.url or "", self.clock.now()
        body = json.dumps(notice.payload, sort_keys=True).encode()
        signature = sign(self.settings.secret, body, int(now.timestamp()))
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        error: str | None = None
        try:
            timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
            async with session.post(url, data=body, headers=headers, timeout=timeout) as r:
                if not 200 <= r.status < 300:
                    error = f"HTTP {r.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        retry_at = now + timedelta(seconds=min(3600, 5 * 2**notice.attempts))
        await self.runner.run(finish_notice(self.runner.dialect, notice, now, error, retry_at))
        if error is None:
            log.info("hand-off notice %s for %s sent", notice.event, notice.conversation)
            return 1
        last = notice.attempts + 1 >= self.settings.max_attempts
        log.warning("hand-off notice %s for %s failed (%s); %s", notice.event,
                    notice.conversation, error, "giving up" if last else "will retry")  # fmt: skip
        return 0
