"""``switchboard new``: a project of one's own passes its tests and serves, from a fresh
virtualenv with Switchboard installed from this checkout (issue 11)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.new import package_name

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_is_named_after_the_directory_and_never_shadows_ours() -> None:
    assert package_name(Path("/x/pizza-bot")) == "pizza_bot"
    for taken in ("flows", "storage", "bot", "app"):
        with pytest.raises(ValueError, match="shadow"):
            package_name(Path(f"/x/{taken}"))
    with pytest.raises(ValueError, match="--package"):
        package_name(Path("/x/123"))


def test_an_existing_directory_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    assert main(["new", str(tmp_path / "full")]) == 2
    assert "not an empty directory" in capsys.readouterr().err
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{cmd}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with this checkout pip-installed (not editable): its bin/."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], venv.parent)
    _run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], venv.parent)
    return venv / "bin"


def test_a_new_project_passes_its_tests_and_serves_from_a_fresh_virtualenv(
    installed: Path, tmp_path: Path
) -> None:
    bin_ = installed
    _run([str(bin_ / "switchboard"), "new", "pizza-bot"], tmp_path)
    project = tmp_path / "pizza-bot"
    _run([str(bin_ / "pip"), "install", "-q", "-e", ".[test]"], project)
    out = _run([str(bin_ / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert "3 passed" in out and "warning" not in out.lower()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    server = subprocess.Popen(
        [str(bin_ / "switchboard"), "serve", "--dev", "--app", "pizza_bot.app:app",
         "--port", str(port)],
        cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_project_package_shadowing_ours_gets_a_clear_error(
    installed: Path, tmp_path: Path
) -> None:
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "__init__.py").write_text("# the user's own storage package\n")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    done = subprocess.run(
        [str(installed / "python"), "-c", "from bot import Flow, Settings; Settings"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode != 0
    assert "shadows Switchboard's own" in done.stderr and str(tmp_path / "storage") in done.stderr


def test_mypy_checks_a_users_code_against_the_installed_packages(
    installed: Path, tmp_path: Path
) -> None:
    (tmp_path / "mine.py").write_text(
        "from bot.testing import Harness\nfrom flows import build\n"
        "from storage import open_store\n\n"
        "reveal_type(Harness)\nreveal_type(build)\nreveal_type(open_store)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--python-executable", str(installed / "python"), "mine.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = done.stdout
    assert "import-untyped" not in out and "import-not-found" not in out, out
    assert out.count('Revealed type is "Any"') == 0 and out.count("Revealed type") == 3, out
