"""What ``switchboard serve --dev`` runs beyond a production server, set up in the parent
process before any worker starts and handed to the workers through their environment.

- **The dev clock**: a file the workers' :class:`~bot.clock.ShiftedClock` share
  (``SWITCHBOARD_DEV_CLOCK_FILE``), so ``switchboard dev clock --advance 2h`` moves every
  worker's time, and a worker restarted by ``--reload`` keeps it.
- **Turn lines**: one readable line per step on the console (``switchboard.turns``, on by
  default in dev: ``SWITCHBOARD_LOG_TURNS=0`` hides them).
- **Outbound**: without Twilio credentials, the fake Twilio REST API
  (:class:`~bot.dev.dev_twilio.DevTwilio`) runs in this process and the workers send to it;
  what it accepts and each delivery status are shown. With credentials, the banner says which
  Twilio is used (never a secret).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

from bot.dev.dev_twilio import DevTwilio
from bot.outbound.config import Credentials
from bot.settings import Settings
from storage.url import redact

__all__ = ["dev_environment"]


@contextmanager
def dev_environment(
    env: MutableMapping[str, str], url: str, settings: Settings
) -> Iterator[list[str]]:
    """Prepare ``env`` for dev workers serving at ``url``; yields the lines to tell the
    developer, and removes what it made afterwards."""
    folder = tempfile.mkdtemp(prefix="switchboard-dev-")
    made = {"SWITCHBOARD_DEV_CLOCK_FILE": str(Path(folder) / "clock")}
    twilio, credentials = None, settings.outbound.credentials
    if credentials is None:
        twilio = DevTwilio(url, auth_token=settings.auth_token, public_url=settings.public_url)
        twilio.start()
        made |= twilio.environment()
    # The fake's account, key and URL go together (a lone TWILIO_ACCOUNT_SID without a token
    # is replaced); a status callback URL, clock file or Verify service given by the developer
    # is kept.
    kept = (
        "SWITCHBOARD_STATUS_CALLBACK_URL",
        "SWITCHBOARD_DEV_CLOCK_FILE",
        "TWILIO_VERIFY_SERVICE_SID",
    )
    made = {k: v for k, v in made.items() if k not in kept or k not in env}
    before = {name: env.get(name) for name in made}
    env.update(made)
    lines = [
        _real_twilio(credentials) if credentials else _fake_twilio(twilio),
        f"dev clock: `switchboard dev clock --advance 2h --url {url}` moves it forward "
        "(due timers fire at once)",
    ]
    if env.get("SWITCHBOARD_LOG_TURNS", "1").lower() in {"1", "true", "yes", "on"}:
        lines.append("one line per step below (SWITCHBOARD_LOG_TURNS=0 hides them)")
    try:
        yield lines
    finally:
        for name, value in before.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        if twilio is not None:
            twilio.close()
        shutil.rmtree(folder, ignore_errors=True)


def _fake_twilio(twilio: DevTwilio | None) -> str:
    """Where outbound messages go without credentials."""
    where = twilio.fake.base_url if twilio else "127.0.0.1"
    return (
        f"outbound: no Twilio credentials, so the built-in fake Twilio at {where} takes "
        "messages, calls and Verify codes; each is shown below (messages with their delivery "
        "statuses)"
    )


def _real_twilio(credentials: Credentials) -> str:
    """Which Twilio messages go to, in one line without a secret."""
    account = credentials.account_sid
    return (
        f"outbound: Twilio credentials are set, so messages are REALLY sent through "
        f"{redact(credentials.api_url)} (account {account[:4]}…{account[-4:]}); unset "
        "TWILIO_ACCOUNT_SID to use the built-in fake"
    )
