"""Time to answer a voice webhook: p50/p99 for an incoming call and for a <Gather> result.

Starts the example app (``hypercorn app:app``) on 127.0.0.1 with a fresh SQLite database,
then places calls over real HTTP/1.1 keep-alive connections: each call rings (the IVR menu)
and presses 2 (a <Gather> result: load, run the flow, commit, render the <Dial>). Requests are
signed like Twilio's. Nothing leaves the machine; counts and time are bounded.

    python bench/voice_answer.py [--calls 300] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

from bot.dev.signing import sign

TOKEN = "bench-auth-token-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Client:
    """A minimal HTTP/1.1 keep-alive client (the server answers with Content-Length)."""

    def __init__(self, base: str, port: int) -> None:
        self.base, self.port = base, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, params: list[tuple[str, str]]) -> tuple[int, str]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        body = urlencode(params).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Twilio-Signature: {sign(self.base + path, params, TOKEN)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, (await self.reader.readexactly(length)).decode()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def one_call(client: Client, n: int, ring: list[float], gather: list[float]) -> None:
    sid = f"CA{n:032x}"
    params = [("AccountSid", "AC" + "0" * 32), ("CallSid", sid), ("From", f"+1555{n:07d}"),
              ("To", "+15550100000"), ("CallStatus", "in-progress"), ("Direction", "inbound"),
              ("ApiVersion", "2010-04-01")]  # fmt: skip
    started = time.perf_counter()
    status, body = await client.post("/twilio", params)
    ring.append(time.perf_counter() - started)
    action = ET.fromstring(body).find("Gather")
    if status != 200 or action is None:
        raise SystemExit(f"unexpected answer to a call: {status} {body[:200]}")
    path = (action.get("action") or "")[len(client.base) :]
    started = time.perf_counter()
    status, body = await client.post(path, [*params, ("Digits", "2")])
    gather.append(time.perf_counter() - started)
    if status != 200 or "<Dial" not in body:
        raise SystemExit(f"unexpected answer to a gather: {status} {body[:200]}")


async def run(calls: int, concurrency: int, port: int) -> tuple[list[float], list[float]]:
    base = f"http://127.0.0.1:{port}"
    ring: list[float] = []
    gather: list[float] = []
    clients = [Client(base, port) for _ in range(concurrency)]
    queue = iter(range(calls))

    async def worker(client: Client) -> None:
        for n in queue:
            await one_call(client, n, ring, gather)
        await client.close()

    await asyncio.wait_for(asyncio.gather(*(worker(c) for c in clients)), timeout=120)
    return ring, gather


def _wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("hypercorn exited; is the app importable?")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("hypercorn did not start within 20 s")


def _report(name: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(f"{name:<16} n={len(ms):<5} p50={p50:7.2f} ms  p99={p99:7.2f} ms  max={ms[-1]:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TWILIO_AUTH_TOKEN=TOKEN,
                   SWITCHBOARD_PUBLIC_URL=f"http://127.0.0.1:{port}",
                   SWITCHBOARD_DATABASE_URL=f"sqlite:///{tmp}/bench.db")  # fmt: skip
        cmd = [sys.executable, "-m", "hypercorn", "app:app", "-b", f"127.0.0.1:{port}"]
        server = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        try:
            _wait_until_up(port, server)
            started = time.perf_counter()
            ring, gather = asyncio.run(run(args.calls, args.concurrency, port))
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{args.calls} calls, {args.concurrency} at a time, one hypercorn worker, SQLite:")
    _report("call start", ring)
    _report("gather result", gather)
    print(f"{2 * args.calls / elapsed:.0f} voice requests/s; Twilio's limit is 15 s per answer")


if __name__ == "__main__":
    main()
