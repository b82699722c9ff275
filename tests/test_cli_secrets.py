"""Issue 17: secrets never in a command's output; malformed configuration is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.cli import main
from storage.url import redact

SECRET = "hunter2-Secret"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://u:{SECRET}@db:5432/sb",
        f"postgresql://u@db:5432/sb?password={SECRET}",
        f"postgresql://u@db:5432/sb?application_name=x&PASSWORD={SECRET}",
        f"postgresql://u:{SECRET}@db:5x32/sb",
        f"postgresql://u:p%40ss{SECRET}@db/sb",
    ],
)
def test_redact_hides_every_password(url: str) -> None:
    assert SECRET not in redact(url)


def test_db_status_never_prints_a_query_password(
    postgres_schema_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_schema_url + f"&password={SECRET}"
    assert main(["db", "upgrade", "--database", url]) == 0
    assert main(["db", "status", "--database", url]) == 0
    out, err = capsys.readouterr()
    assert "schema version" in out and "password=***" in out
    assert SECRET not in out + err


@pytest.mark.parametrize(
    "command",
    [
        ["db", "status", "--database"],
        ["db", "upgrade", "--database"],
        ["outbox", "--database"],
        ["consent", "history", "+15550001111", "--database"],
    ],
)
def test_a_malformed_port_is_one_clear_line(command: list[str]) -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:54x2/test"
    if command[0] == "consent":  # its --database belongs to `consent`, before the verb
        command = ["consent", "--database", url, "history", "+15550001111"]
    else:
        command = [*command, url]
    done = _run(*command)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "port" in lines[0] and "Traceback" not in done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_serve_with_a_malformed_port_is_one_clear_line() -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:99999/test"
    done = _run("serve", "--dev", "--port", "0", "--database", url,
                env={"SWITCHBOARD_DEV": "1"})  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and SECRET not in done.stdout + done.stderr
    assert "port" in done.stderr.strip().splitlines()[-1]


def test_a_misplaced_database_option_is_echoed_without_its_password() -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:5432/test?password={SECRET}"
    done = _run("db", "status", url)  # the URL without its --database: argparse echoes it
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr
    assert SECRET not in done.stdout + done.stderr and "u:***@" in done.stderr
