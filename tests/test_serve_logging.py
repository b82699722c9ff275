"""`switchboard serve` gives its Hypercorn workers Switchboard's INFO logs, not the noise."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging, logging.config
import bot.outbound.rest
from bot.cli.serve import _WORKER_LOGGING
logging.basicConfig(level=logging.INFO)
logging.config.dictConfig(_WORKER_LOGGING)
names = ["switchboard.engine", "switchboard.rest.http", "transitions.core"]
print(" ".join(logging.getLevelName(logging.getLogger(n).getEffectiveLevel()) for n in names))
"""


def test_worker_logging_keeps_switchboard_info_and_quiets_request_dumps() -> None:
    """Regression: dictConfig reset the SDK logger's WARNING, so every REST call logged at INFO."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["INFO", "WARNING", "WARNING"]
