"""``POST /twilio`` served in front of Quart (bot/web/webhook.py): the same answers as the
Quart route, the body limits Quart enforced, everything else left to Quart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from quart import Quart
from werkzeug.exceptions import BadRequestKeyError

from bot.dev.signing import sign
from bot.errors import BadRequest, RoutingError, StoreError
from bot.testing import Harness
from bot.web.app import runtime_of
from bot.web.deadline import Deadlines
from bot.web.webhook import FastWebhook, Reply, refusal
from flows import build

Message = dict[str, Any]
SID = "SM" + "a" * 32


def scope(path: str = "/twilio", method: str = "POST", headers: Any = ()) -> dict[str, Any]:
    return {
        "type": "http", "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": list(headers), "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80), "extensions": {},
    }  # fmt: skip


def receiver(*messages: Message, then: float = 0) -> Callable[[], Awaitable[Message]]:
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await asyncio.sleep(then)
        return {"type": "http.disconnect"}

    return receive


class Sent:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int | None:
        return self.messages[0]["status"] if self.messages else None

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


class Inner:
    """The app behind the fast path (Quart, in production): records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.paths.append(f"{scope.get('method', '-')} {scope.get('path', scope['type'])}")


@pytest.fixture
async def harness() -> Any:
    async with Harness(build) as started:
        yield started


def served(harness: Harness) -> Quart:
    if harness.app is None:
        raise RuntimeError("the harness is not started")
    return harness.app


def fast(harness: Harness, inner: Any = None, max_body: int = 100) -> FastWebhook:
    runtime = runtime_of(served(harness))
    return FastWebhook(inner or Inner(), runtime, Deadlines(5), max_body=max_body,
                       body_timeout=0.2)  # fmt: skip


def signed_request(harness: Harness, sender: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    params = [("MessageSid", SID[:-4] + sender[-4:]), ("AccountSid", "AC" + "0" * 32),
              ("From", sender), ("To", "+15550100000"), ("Body", "hi")]  # fmt: skip
    signature = sign(harness.public_url + "/twilio", params, harness.token)
    headers = [(b"host", b"127.0.0.1"), (b"x-twilio-signature", signature.encode()),
               (b"content-type", b"application/x-www-form-urlencoded")]  # fmt: skip
    return headers, urlencode(params).encode()


async def test_the_fast_path_answers_as_the_quart_route_does(harness: Harness) -> None:
    app = served(harness).asgi_app
    assert isinstance(app, FastWebhook)
    answers = []
    for sender, entry in (("+14440000001", app), ("+14440000002", app.inner)):
        headers, body = signed_request(harness, sender)
        sent = Sent()
        await entry(scope(headers=headers), receiver({"type": "http.request", "body": body}), sent)
        start = sent.messages[0]
        answers.append((sent.status, dict(start["headers"])[b"content-type"], sent.body))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200 and answers[0][1] == b"text/xml; charset=utf-8"
    assert b"<Message>" in answers[0][2]


async def test_a_declared_oversized_body_is_413_unread(harness: Harness) -> None:
    sent, read = Sent(), []

    async def receive() -> Message:  # pragma: no cover - must not be called
        read.append(1)
        return {"type": "http.request", "body": b""}

    await fast(harness)(scope(headers=[(b"content-length", b"101")]), receive, sent)
    assert sent.status == 413 and read == []


async def test_a_body_growing_past_the_limit_is_413(harness: Harness) -> None:
    sent = Sent()
    chunks = [{"type": "http.request", "body": b"x" * 60, "more_body": True}] * 2
    await fast(harness)(scope(), receiver(*chunks), sent)
    assert sent.status == 413
    assert b"larger than 100 bytes (SWITCHBOARD_MAX_BODY_BYTES" in sent.body


async def test_an_undeclared_oversized_body_in_one_part_is_413(harness: Harness) -> None:
    sent = Sent()
    await fast(harness)(scope(), receiver({"type": "http.request", "body": b"x" * 101}), sent)
    assert sent.status == 413


async def test_a_body_that_never_ends_is_408(harness: Harness) -> None:
    sent = Sent()
    part = {"type": "http.request", "body": b"Body=x", "more_body": True}
    await fast(harness)(scope(), receiver(part, then=5), sent)
    assert sent.status == 408


async def test_a_client_gone_before_its_body_gets_nothing(harness: Harness) -> None:
    sent = Sent()
    part = {"type": "http.request", "body": b"Body=x", "more_body": True}
    await fast(harness)(scope(), receiver(part), sent)
    assert sent.messages == []
    assert await harness.store.conversation("sms:+15550100000:+14440000001") is None


async def test_everything_else_goes_to_quart(harness: Harness) -> None:
    inner = Inner()
    app = fast(harness, inner)
    for method, path in (("GET", "/twilio"), ("GET", "/twilio/status"), ("POST", "/twilio/")):
        await app(scope(path, method), receiver(), Sent())
    await app({"type": "lifespan"}, receiver(), Sent())
    assert inner.paths == ["GET /twilio", "GET /twilio/status", "POST /twilio/", "- lifespan"]


async def test_a_status_callback_is_answered_204_in_front_of_quart(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    inner = Inner()
    params = [("AccountSid", "AC" + "0" * 32), ("SomethingStatus", "done")]
    signature = sign(harness.public_url + "/twilio/status", params, harness.token)
    headers = [(b"x-twilio-signature", signature.encode()),
               (b"content-type", b"application/x-www-form-urlencoded")]  # fmt: skip
    body = {"type": "http.request", "body": urlencode(params).encode()}
    sent = Sent()
    with caplog.at_level("INFO", logger="switchboard.status"):
        await fast(harness, inner)(scope("/twilio/status", headers=headers), receiver(body), sent)
    assert (sent.status, sent.body, inner.paths) == (204, b"", [])
    assert "ignored a status callback of unknown kind" in caplog.text
    forged = Sent()
    await fast(harness, inner)(scope("/twilio/status", headers=headers[1:]), receiver(body), forged)
    assert forged.status == 403


def test_refusals_are_answered_as_quart_answered_them() -> None:
    assert refusal(BadRequest("no From"), "POST", "/twilio") == Reply(400, "no From")
    assert refusal(RoutingError("no flow"), "POST", "/twilio") == Reply(404, "no flow")
    assert refusal(StoreError("down"), "POST", "/twilio") == Reply(
        503, "the conversation store is unavailable; try again"
    )
    missing = refusal(BadRequestKeyError("From"), "POST", "/twilio")
    assert missing is not None and missing.status == 400
    assert refusal(ValueError("a bug"), "POST", "/twilio") is None  # propagates: a 500


async def test_the_app_waits_for_a_body_as_long_as_twilio_waits_for_an_answer(
    harness: Harness,
) -> None:
    """Quart's default was 60 s: a stalled body held a connection four times Twilio's timeout."""
    from bot.web.app import BODY_TIMEOUT_S

    assert served(harness).config["BODY_TIMEOUT"] == BODY_TIMEOUT_S == 15
