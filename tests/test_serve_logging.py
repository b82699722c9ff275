"""`switchboard serve` gives its Hypercorn workers Switchboard's INFO logs, not the noise, and
its `--help` shows every option's default."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.cli import main

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


def test_serve_help_shows_the_port_and_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["serve", "--help"])
    assert done.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the help lines
    assert "--port PORT port to bind (default 8000)" in shown
