"""Replay a transcript through the real app, in process, and report the first difference."""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.dev.clock import DEFAULT_START, FakeClock
from bot.dev.harness import AppFactory, Harness, Phone
from bot.dev.replies import REPLY_LINES, reply_lines
from bot.dev.reply import Reply
from bot.events.keys import ConversationKey
from bot.events.model import Channel
from bot.flow.handoff import current
from bot.testing.transcript import (
    Advance,
    Check,
    Deploy,
    Send,
    Step,
    Transcript,
    TranscriptSyntaxError,
)

__all__ = ["CALLER_ACTIONS", "REPLY_LINES", "Runner", "TranscriptMismatch", "reply_lines"]

CallerAction = Callable[["Runner", Send], Awaitable[Reply]]
# Bracketed caller actions (``> [digits 1]``) by name; voice registers its own.
CALLER_ACTIONS: dict[str, CallerAction] = {}


class TranscriptMismatch(AssertionError):
    """The app answered differently from the transcript; the message shows both."""


def _show(lines: list[tuple[str, list[str]]]) -> str:
    if not lines:
        return "    < (no reply)"
    out = []
    for text, media in lines:
        out.append(f"    < {text}")
        out += [f"    <+ {url}" for url in media]
    return "\n".join(out)


class Runner:
    """Plays one transcript against the app ``factory`` builds."""

    def __init__(
        self, transcript: Transcript, factory: AppFactory, database_url: str | None = None
    ) -> None:
        self.transcript = transcript
        self.factory = factory
        self.database_url = database_url  # another store than a fresh SQLite file
        header = transcript.header
        self.channel = Channel(header.get("channel", "sms"))
        self.caller = header.get("from", "+15550001111")
        self.ours = header.get("to", "+15550100000")
        start = header.get("start")
        self.clock = FakeClock(
            datetime.fromisoformat(start.replace("Z", "+00:00")) if start else DEFAULT_START
        )
        prefix = "whatsapp:" if self.channel is Channel.WHATSAPP else ""
        self.key = ConversationKey(self.channel, prefix + self.ours, prefix + self.caller).id
        self.harness: Harness | None = None
        self.phone: Phone | None = None
        self.turn = 0
        self.session: dict[str, Any] = {}  # what caller actions keep (voice: the call)

    def fail(self, step: Step, why: str) -> TranscriptMismatch:
        head = f"{self.transcript.path}:{step.line}"
        if isinstance(step, Send):
            head += f", turn {self.turn} ({'>'} {step.source})"
        return TranscriptMismatch(f"{head}\n{why}")

    async def run(self) -> None:
        named = self.transcript.header.get("compliance")
        compliance = str(Path(self.transcript.path).parent / named) if named else None
        started = Harness(
            self.factory, clock=self.clock, database_url=self.database_url,
            compliance_file=compliance,
        )  # fmt: skip
        async with started as harness:
            self.harness = harness
            self.route()
            self.phone = harness.phone(self.caller, self.ours, self.channel)
            for step in self.transcript.steps:
                await self.play(step)

    def route(self) -> None:
        """Route our number to the header's ``flow``, in the app now running."""
        flow = self.transcript.header.get("flow")
        if flow and self.harness is not None:
            engine = self.harness.engine
            if flow not in engine.flows:
                known = ", ".join(sorted(engine.flows))
                raise TranscriptSyntaxError(
                    f"{self.transcript.path}:1: flow {flow!r} is not registered "
                    f"in this app (it has: {known})"
                )
            engine.router.add(self.ours, flow, self.channel)

    async def deploy(self, step: Deploy) -> None:
        """Swap in the app ``step.target`` builds, on the same database and clock."""
        assert self.harness is not None
        module, _, name = step.target.partition(":")
        try:
            factory: AppFactory = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise self.fail(step, f"cannot deploy {step.target!r}: {exc}") from exc
        await self.harness.deploy(factory)
        self.route()

    async def play(self, step: Step) -> None:
        if isinstance(step, Deploy):
            await self.deploy(step)
        elif isinstance(step, Advance):
            if step.delta is not None:
                self.clock.advance(step.delta)
            elif step.to is not None:
                self.clock.set(step.to)
        elif isinstance(step, Check):
            await self.check(step)
        else:
            self.turn += 1
            await self.compare(step, await self.send(step))

    async def send(self, step: Send) -> Reply:
        assert self.phone is not None
        if step.action is None:
            return await self.phone.send(step.text, media=step.media)
        action = CALLER_ACTIONS.get(step.action)
        if action is None:
            raise self.fail(
                step, f"unknown caller action [{step.action}] (known: {sorted(CALLER_ACTIONS)})"
            )
        return await action(self, step)

    async def compare(self, step: Send, reply: Reply) -> None:
        if not 200 <= reply.status < 300:
            raise self.fail(step, f"the app answered HTTP {reply.status}: {reply.body.strip()}")
        actual = reply_lines(reply)
        expected = [(e.text, e.media) for e in step.expect]
        same = len(actual) == len(step.expect) and all(
            e.matches(text) and e.media == media
            for e, (text, media) in zip(step.expect, actual, strict=True)
        )
        if not same:
            raise self.fail(step, f"  expected:\n{_show(expected)}\n  actual:\n{_show(actual)}")

    async def check(self, step: Check) -> None:
        assert self.harness is not None
        stored = await self.harness.store.conversation(self.key)
        if stored is None:
            raise self.fail(step, f"no conversation is stored under {self.key}")
        if step.what == "state" and stored.state != step.value:
            raise self.fail(step, f"  expected state {step.value!r}, actual {stored.state!r}")
        if step.what == "closed" and not stored.closed:
            raise self.fail(step, f"  expected the conversation closed; it is in {stored.state!r}")
        if step.what == "handoff":
            held = current(stored.data) is not None and not stored.closed
            if held != (step.value == "[handed off]"):
                now = "in hand-off" if held else "not in hand-off"
                raise self.fail(step, f"  expected {step.value}, actual: {now} ({stored.state!r})")
        if step.what == "data":
            name, _, raw = step.value.partition(" ")
            want = json.loads(raw)
            if stored.data.get(name) != want:
                raise self.fail(
                    step, f"  expected data[{name!r}] = {want!r}, actual {stored.data.get(name)!r}"
                )
