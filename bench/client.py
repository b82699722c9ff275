"""A small count-bounded HTTP/1.1 client for runs that need an exact number of requests.

wrk runs for a duration; the memory bench needs "exactly these callers, then read RSS", so it
replays its traffic file with this client instead (keep-alive connections on 127.0.0.1).
Throughput is never measured with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

__all__ = ["replay"]


def _requests(traffic: Path, path: str, host: str, skip: int, count: int) -> Iterator[bytes]:
    with traffic.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            if n < skip:
                continue
            if n >= skip + count:
                return
            signature, _, body = line.rstrip("\n").partition("\t")
            data = body.encode()
            yield (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode() + data


async def _connection(port: int, requests: Iterator[bytes], statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (header := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            statuses.append(int(status_line.split()[1]))
    finally:
        writer.close()


async def _replay(
    port: int, traffic: Path, skip: int, count: int, connections: int, path: str
) -> list[int]:
    requests = _requests(traffic, path, f"127.0.0.1:{port}", skip, count)
    statuses: list[int] = []
    await asyncio.gather(*(_connection(port, requests, statuses) for _ in range(connections)))
    return statuses


def replay(
    port: int, traffic: Path, *, skip: int, count: int, connections: int = 16, path: str = "/twilio"
) -> list[int]:
    """Send lines ``skip .. skip+count`` of ``traffic``; the status of each response."""
    return asyncio.run(_replay(port, traffic, skip, count, connections, path))
