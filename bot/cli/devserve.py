"""What ``switchboard serve --dev`` runs beyond a production server, set up in the parent
process before any worker starts and handed to the workers through their environment.

- **The dev clock**: a file the workers' :class:`~bot.clock.ShiftedClock` share
  (``SWITCHBOARD_DEV_CLOCK_FILE``), so ``switchboard dev clock --advance 2h`` moves every
  worker's time, and a worker restarted by ``--reload`` keeps it.
- **Turn lines**: one readable line per step on the console (``switchboard.turns``, on by
  default in dev: ``SWITCHBOARD_LOG_TURNS=0`` hides them).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["dev_environment"]


@contextmanager
def dev_environment(env: MutableMapping[str, str], url: str) -> Iterator[list[str]]:
    """Prepare ``env`` for dev workers serving at ``url``; yields the lines to tell the
    developer, and removes what it made afterwards."""
    folder = tempfile.mkdtemp(prefix="switchboard-dev-")
    env.setdefault("SWITCHBOARD_DEV_CLOCK_FILE", str(Path(folder) / "clock"))
    lines = [
        f"dev clock: `switchboard dev clock --advance 2h --url {url}` moves it forward "
        "(due timers fire at once)",
    ]
    if env.get("SWITCHBOARD_LOG_TURNS", "1").lower() in {"1", "true", "yes", "on"}:
        lines.append("one line per step below (SWITCHBOARD_LOG_TURNS=0 hides them)")
    try:
        yield lines
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if env.get("SWITCHBOARD_DEV_CLOCK_FILE", "").startswith(folder):
            del env["SWITCHBOARD_DEV_CLOCK_FILE"]
