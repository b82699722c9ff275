"""Instructions per call of each part of a webhook request outside the engine turn.

``python -m bench.parts`` runs itself again under ``valgrind --tool=callgrind
--instr-atstart=no``; there, for a signed voice Gather result and a signed SMS, it calls each
part 2,000 times with counting switched on (``callgrind_control -i on`` on its own pid),
switches it off, dumps, and prints the count per call less that of an empty call. The whole
request is ``FastWebhook`` on a uvloop loop with a stub engine (one ``sleep(0)``), less the
same loop running the stub alone. Figures repeat to within about 1 %.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from twilio.request_validator import RequestValidator

from bench.traffic import PUBLIC_URL, TOKEN, signed_line, sms_params
from bench.voice import GATHER_PATH, call_params

__all__ = ["main"]

CALLS = 2000
_OUT = "BENCH_PARTS_OUT"
_TOTALS = re.compile(rb"^totals:\s+(\d+)", re.MULTILINE)


class _Counter:
    """Counts one part: counting on, ``CALLS`` calls, counting off, the dump's total."""

    def __init__(self, out: Path) -> None:
        self.out, self.dumps, self.pid = out, 0, str(os.getpid())

    def _control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args, self.pid], check=True, capture_output=True)

    def count(self, part: Callable[[], object]) -> int:
        for _ in range(50):  # warm: caches, first-call imports
            part()
        self._control("-i", "on")
        for _ in range(CALLS):
            part()
        self._control("-i", "off")
        self._control("-d")
        self.dumps += 1
        dump = self.out.with_name(f"{self.out.name}.{self.dumps}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if dump.exists() and (match := _TOTALS.search(dump.read_bytes())):
                return int(match.group(1))
            time.sleep(0.1)
        raise RuntimeError(f"callgrind wrote no dump {dump}")


def _scope(path: str, signature: str, body: bytes) -> dict[str, Any]:
    route, _, query = path.partition("?")
    headers = [
        (b"host", b"127.0.0.1:8000"), (b"content-type", b"application/x-www-form-urlencoded"),
        (b"x-twilio-signature", signature.encode()), (b"content-length", str(len(body)).encode()),
    ]  # fmt: skip
    return {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": route, "raw_path": route.encode(), "query_string": query.encode(),
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip


Part = tuple[str, Callable[[], object]]
_FORM = "application/x-www-form-urlencoded"


def _parts(kind: str, path: str, params: list[tuple[str, str]]) -> Iterator[Part]:
    import uvloop

    from bot.events.parse import parse_inbound
    from bot.events.sids import check_sids
    from bot.settings import Settings
    from bot.voice.answer import CallAnswerer
    from bot.web.deadline import Deadlines
    from bot.web.request import _check_signature, _parsed, verified
    from bot.web.webhook import FastWebhook, _headers, _Request

    signature, _, text = signed_line(path, params, RequestValidator(TOKEN)).partition("\t")
    body = text.encode()
    scope = _scope(path, signature, body)
    settings = Settings.from_env({"TWILIO_AUTH_TOKEN": TOKEN, "SWITCHBOARD_PUBLIC_URL": PUBLIC_URL})
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)

    def run(make: Callable[[], Coroutine[Any, Any, object]]) -> Callable[[], object]:
        return lambda: loop.run_until_complete(make())

    class Engine:
        async def handle(self, event: object, token: str | None) -> str:
            await asyncio.sleep(0)
            return "<Response/>"

    engine = Engine()
    runtime = SimpleNamespace(
        settings=settings, engine=engine, calls=CallAnswerer(cast(Any, engine)),
        observer=SimpleNamespace(metrics=None),
    )  # fmt: skip
    app = FastWebhook(
        cast(Any, None), cast(Any, runtime), Deadlines(10.0), max_body=65536, body_timeout=60
    )
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(_: object) -> None:
        return None

    req = _Request(scope, _headers(scope), body)
    form = _parsed(_FORM, body)
    url = PUBLIC_URL + path
    yield (
        f"{kind}: request view (_Request, args)",
        lambda: _Request(scope, _headers(scope), body).args,
    )
    yield f"{kind}: form (_parsed)", lambda: _parsed(_FORM, body)
    yield f"{kind}: signature", lambda: _check_signature(req, TOKEN, url, form, body, None, _FORM)
    yield f"{kind}: check_sids", lambda: check_sids(form)
    yield f"{kind}: verified (all checks)", lambda: _step(verified(req, settings))
    yield f"{kind}: parse_inbound", lambda: parse_inbound(form, req.args, PUBLIC_URL + "/twilio")
    stub = run(lambda: engine.handle(None, None))
    whole = run(lambda: app(scope, receive, send))
    yield f"{kind}: FastWebhook, less the stub step", _Less(whole, stub)


class _Less:
    """A part whose count is ``part``'s less ``base``'s (both run, counted together)."""

    def __init__(self, part: Callable[[], object], base: Callable[[], object]) -> None:
        self.part, self.base = part, base

    def __call__(self) -> object:
        return self.part()


def _step(coro: Coroutine[Any, Any, object]) -> object:
    """Run a coroutine that never suspends."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the coroutine suspended")


def _count(out: Path) -> None:
    counter = _Counter(out)
    empty = counter.count(lambda: None)
    gather = call_params("CA" + "1" * 32, "+14440000001", [("Digits", "2")])
    sms = sms_params("+14440000001", "Where is my parcel?", "SM" + "1" * 32)
    for kind, path, params in (("voice", GATHER_PATH, gather), ("sms", "/twilio", sms)):
        for name, part in _parts(kind, path, params):
            total = counter.count(part)
            if isinstance(part, _Less):
                total -= counter.count(part.base) - empty
            print(f"  {name:<40} {(total - empty) / CALLS / 1e3:7.1f} k instructions", flush=True)


def main() -> None:
    out = os.environ.get(_OUT)
    if out is not None:
        _count(Path(out))
        return
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "callgrind.out"
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        command = [*valgrind, f"--callgrind-out-file={target}", sys.executable, "-m", "bench.parts"]
        env = {**os.environ, _OUT: str(target)}
        subprocess.run(command, env=env, check=True, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
