"""The session behind ``switchboard chat``: one person talking to an app, a line at a time.

In process (the default) the real app runs on a throw-away SQLite database (or
``database_url``) with a fake clock and the fake Twilio REST API, so outbound messages go
somewhere and come back with status callbacks; ``/wait 2h`` moves the clock and fires due
timers. Against a running dev server (``remote``) the same lines go over HTTP. Every turn is
recorded (:class:`~bot.dev.recording.Recording`) with what the app answered, so ``/save``
writes a transcript that replays green. Commands: :data:`HELP`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from bot.dev.call import CallError
from bot.dev.chat_voice import VoiceLine
from bot.dev.clock_client import DevClockError, dev_clock
from bot.dev.harness import AppFactory, Harness, Phone
from bot.dev.recording import Recording, sent_line
from bot.dev.remote import RemoteApp, RemoteError
from bot.dev.replies import reply_lines
from bot.dev.reply import Reply, Webhook
from bot.events.keys import ConversationKey
from bot.events.model import Channel
from bot.flow.intents import parse_delay
from bot.outbound.segments import count_segments
from bot.outbound.start import start_conversation
from storage.url import open_store

__all__ = ["HELP", "ChatError", "ChatSession", "Target"]

HELP = """\
  text               send it (a line starting with / is a command; //text sends /text)
  /wait 2h           time passes (d h m s): due timers fire, what they send is shown
  /state  /data      the conversation's state, its data
  /start [k=v ...]   we start the flow with you (outbound first message), with this data
  /reset             start over on a fresh throw-away database
  /save FILE         write this session as a transcript that replays green
  /help  /quit       this list; leave (Ctrl-D too)
 on a call (--channel voice):
  1 or 12#           press keys          any other text   say it (speech)
  /silence           say nothing         /hangup          hang up
  /record 10         leave a message     /dial busy       the <Dial> ends (completed, ...)
  /call              ring again"""


class ChatError(Exception):
    """What the user asked cannot be done now; one line, and the session goes on."""


@dataclass(frozen=True)
class Target:
    """Who talks to whom: the person's number, ours (``None``: the first routed number)."""

    channel: Channel
    caller: str
    ours: str | None = None
    flow: str | None = None  # route our number to this flow (in process)


def _first_routed(routes: dict[tuple[Channel | None, str], str], channel: Channel) -> str:
    for (on, number), _flow in routes.items():
        if on in (None, channel):
            return number
    return "+15550100000"


def _shown(lines: list[tuple[str, list[str]]]) -> list[str]:
    if not lines:
        return ["  < (no reply)"]
    out = []
    for text, media in lines:
        first, *rest = text.split("\n")
        out += [f"  < {first}", *(f"    {more}" for more in rest)]
        out += [f"  <+ {url}" for url in media]
    return out


class ChatSession:
    """One chat: :meth:`start`, then :meth:`handle` each line typed, then :meth:`stop`."""

    def __init__(
        self,
        target: Target,
        *,
        factory: AppFactory | None = None,
        database_url: str | None = None,
        remote: RemoteApp | None = None,
    ) -> None:
        if (factory is None) == (remote is None):
            raise ValueError("a chat talks to an app in process or to a server, not both")
        self.target, self.factory, self.database_url = target, factory, database_url
        self.remote = remote
        self.harness: Harness | None = None
        self.ours = target.ours or ""
        self.flow = target.flow or ""
        self.recording = Recording({})
        self.voice: VoiceLine | None = None
        self.done = False
        self._seen_out = 0  # messages the fake Twilio accepted that were shown
        self._seen_codes = 0  # ...and Verify codes it "sent"
        self._seen_caller = 0  # ...of them to the caller, up to the last /wait or /start
        self._commands: dict[str, Callable[[str], Awaitable[list[str]]]] = {
            "help": self._help, "quit": self._quit, "exit": self._quit, "wait": self._wait,
            "state": self._state, "data": self._data, "reset": self._reset, "save": self._save,
            "start": self._start_flow,
        }  # fmt: skip

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def channel(self) -> Channel:
        return self.target.channel

    def wire(self, number: str) -> str:
        return f"whatsapp:{number}" if self.channel is Channel.WHATSAPP else number

    @property
    def webhook(self) -> Webhook:
        found: Webhook | None = self.remote or self.harness
        if found is None:
            raise ChatError("the session is not started")
        return found

    async def start(self) -> list[str]:
        """Start the app (or reach the server); the lines that say what the session is."""
        if self.remote is not None:
            await self.remote.reachable()
            self.ours = self.ours or "+15550100000"
            where = f"the server at {self.remote.url} (its own database and clock)"
        else:
            await self._start_app()
            where = "a throw-away database" if not self.database_url else "the database given"
        self._begin()
        flow = f"flow {self.flow} on " if self.flow else ""
        lines = [
            f"chat with {flow}{self.ours} ({self.channel.value}) as {self.target.caller}, "
            f"on {where}",
            "type a message; /help lists commands, /quit (or Ctrl-D) leaves",
        ]
        if self.voice is not None:
            lines += await self.voice.act("call", "")
        return lines

    async def _start_app(self) -> None:
        assert self.factory is not None
        if self.database_url:  # reachable and migrated, said in one line, before the app starts
            store = open_store(self.database_url, auto_migrate=True)
            await store.open()
            await store.close()
        harness = Harness(self.factory, database_url=self.database_url)
        await harness.__aenter__()
        self.harness = harness
        engine = harness.engine
        try:
            self.ours = self.ours or _first_routed(engine.router.routes, self.channel)
            if self.target.flow is not None:
                if self.target.flow not in engine.flows:
                    known = ", ".join(sorted(engine.flows))
                    raise ChatError(f"unknown flow {self.target.flow!r}: this app has {known}")
                engine.router.add(self.ours, self.target.flow, self.channel)
            self.flow = engine.router.resolve(self.channel, self.ours)
        except BaseException:
            await self.stop()
            raise

    def _begin(self) -> None:
        """A new recording (and a call line on voice) for the session from here on."""
        header = {"channel": self.channel.value, "from": self.target.caller, "to": self.ours}
        if self.flow:
            header = {"flow": self.flow, **header}
        if self.harness is not None:
            header["start"] = self.harness.clock.now().isoformat().replace("+00:00", "Z")
        self.recording = Recording(header)
        self._seen_caller = 0
        if self.channel is Channel.VOICE:
            self.voice = VoiceLine(self)

    async def stop(self) -> None:
        if self.harness is not None:
            harness, self.harness = self.harness, None
            await harness.__aexit__(None, None, None)
        if self.remote is not None:
            await self.remote.close()

    # -- a line typed -------------------------------------------------------------------------

    async def handle(self, line: str) -> list[str]:
        """What to print for ``line``; a :class:`ChatError` reads as one ``!`` line."""
        text = line.strip()
        if not text:
            return []
        try:
            if text.startswith("/") and not text.startswith("//"):
                name, _, rest = text[1:].partition(" ")
                return await self._command(name.lower(), rest.strip())
            text = text[1:] if text.startswith("//") else text
            if self.voice is not None:
                return await self.voice.said(text)
            return await self._text(text)
        except (ChatError, CallError, RemoteError) as exc:
            return [f"! {exc}"]

    async def _command(self, name: str, rest: str) -> list[str]:
        command = self._commands.get(name)
        if command is not None:
            return await command(rest)
        if self.voice is not None and name in self.voice.COMMANDS:
            return await self.voice.act(name, rest)
        raise ChatError(f"unknown command /{name}: /help lists them")

    async def turn(self, sent: str, reply: Reply) -> list[str]:
        """Show and record one answered ``>`` line (a refusal is shown, not recorded)."""
        if not 200 <= reply.status < 300:
            body = next((s.strip() for s in reply.body.splitlines() if s.strip()), "")
            raise ChatError(f"the app answered HTTP {reply.status}: {body[:200]}")
        lines = reply_lines(reply)
        self.recording.turn(sent, lines)
        return _shown(lines) + await self.outbound()

    async def _text(self, text: str) -> list[str]:
        phone = Phone(self.webhook, self.target.caller, self.ours, self.channel)
        sent = "> [code]" if text == self.pending_code() else sent_line(text)
        return await self.turn(sent, await phone.send(text))

    def pending_code(self) -> str | None:
        """The code the fake Verify last sent the person, while it is pending: typed, it is
        recorded as ``> [code]`` (a transcript never writes a code down)."""
        if self.harness is None or self.harness.twilio is None:
            return None
        found = self.harness.twilio.verify.pending(self.target.caller)
        return found.code if found is not None else None

    # -- outbound: what the fake Twilio accepted ----------------------------------------------

    async def outbound(self) -> list[str]:
        """Send what is due; each message accepted since the last look, with its statuses."""
        if self.harness is None or self.harness.twilio is None:
            return []
        await self.harness.drain()
        fake = self.harness.twilio
        new = fake.sent()[self._seen_out :]
        self._seen_out += len(new)
        out = []
        for message in new:
            await fake.deliver(message.sid, "sent", "delivered")
            segments = count_segments(message.body).segments
            statuses = " > ".join(["queued", *message.history])
            out.append(
                f"  -> {message.to} ({segments} segment{'s' if segments != 1 else ''}, "
                f"{statuses}): {message.body}"
            )
            if message.to != self.wire(self.target.caller):
                self.recording.note(f"sent to {message.to}: {message.body}")
        codes = fake.verify.sends[self._seen_codes :]
        self._seen_codes += len(codes)
        for to, channel in codes:  # what the person's phone shows: the code to type back
            out.append(f"  -> {to} (Verify code by {channel}): {fake.verify.code_for(to)}")
        return out

    def _to_caller_since(self) -> list[tuple[str, list[str]]]:
        """Messages to the caller since the last ``[wait]``/``[start]`` (as the runner reads)."""
        assert self.harness is not None and self.harness.twilio is not None
        received = self.harness.twilio.sent(self.wire(self.target.caller))
        fresh, self._seen_caller = received[self._seen_caller :], len(received)
        return [(m.body, []) for m in fresh]

    def _in_process(self, what: str) -> Harness:
        if self.harness is None:
            raise ChatError(
                f"{what} needs the app in process: against a server (--url) it is not available"
            )
        return self.harness

    # -- commands -----------------------------------------------------------------------------

    async def _help(self, rest: str) -> list[str]:
        return HELP.splitlines()

    async def _quit(self, rest: str) -> list[str]:
        self.done = True
        return []

    async def _wait(self, rest: str) -> list[str]:
        if self.remote is not None:
            return await self._wait_remote(rest)
        harness = self._in_process("/wait")
        try:
            harness.clock.advance(parse_delay(rest))
        except ValueError as exc:
            raise ChatError(f"{exc}: /wait 2h, /wait 1d30m, /wait 90s") from None
        shown = await self.outbound()
        self.recording.turn(f"> [wait {rest.replace(' ', '')}]", self._to_caller_since())
        now = harness.clock.now().strftime("%a %Y-%m-%d %H:%M UTC")
        return [f"  (the clock is now {now})", *(shown or ["  (nothing was sent)"])]

    async def _wait_remote(self, rest: str) -> list[str]:
        """Move the dev server's clock (``POST /dev/clock``); show what its timers queued."""
        assert self.remote is not None
        try:
            parse_delay(rest)
        except ValueError as exc:
            raise ChatError(f"{exc}: /wait 2h, /wait 1d30m, /wait 90s") from None
        before = await self._remote_outbox()
        try:
            moved = await asyncio.to_thread(dev_clock, self.remote.url, rest.replace(" ", ""))
        except DevClockError as exc:
            raise ChatError(str(exc)) from None
        fresh = [m for m in await self._remote_outbox() if m["id"] not in before]
        self.recording.turn(f"> [wait {rest.replace(' ', '')}]", [(m["body"], []) for m in fresh])
        fired = moved.get("fired", 0)
        lines = [f"  (the server's clock is now {moved['now']}; timers fired: {fired})"]
        lines += [f"  -> {self.target.caller} ({m['status']}): {m['body']}" for m in fresh]
        return lines if fresh else [*lines, "  (nothing was sent)"]

    async def _remote_outbox(self) -> dict[Any, dict[str, Any]]:
        """The server's outbox rows of this conversation, by id (none before the first turn)."""
        assert self.remote is not None
        found = await self.remote.detail(self.key())
        return {m["id"]: m for m in (found or {}).get("outbox", [])}

    async def _start_flow(self, rest: str) -> list[str]:
        harness = self._in_process("/start")
        data = {}
        for pair in rest.split():
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise ChatError(f"/start takes key=value pairs, got {pair!r}")
            data[key] = value
        await start_conversation(
            harness.engine, self.flow, self.wire(self.target.caller),
            from_=self.wire(self.ours), data=data,
        )  # fmt: skip
        shown = await self.outbound()
        source = " ".join(["[start", self.flow, *rest.split()]) + "]"
        self.recording.turn(f"> {source}", self._to_caller_since())
        return shown or ["  (nothing was sent)"]

    def key(self) -> str:
        if self.voice is not None:
            return self.voice.key()
        ours, theirs = self.wire(self.ours), self.wire(self.target.caller)
        return ConversationKey(self.channel, ours, theirs).id

    async def _conversation(self) -> dict[str, Any]:
        key = self.key()
        if self.remote is not None:
            found = await self.remote.conversation(key)
        else:
            stored = await self._in_process("/state").store.conversation(key)
            found = None if stored is None else asdict(stored)
        if found is None:
            raise ChatError(f"no conversation yet under {key}: say something first")
        return found

    async def _state(self, rest: str) -> list[str]:
        found = await self._conversation()
        self.recording.check(f"= state {found['state']}")
        if found.get("closed"):
            self.recording.check("= closed")
        closed = " (closed)" if found.get("closed") else ""
        return [f"  state: {found['state']}{closed}   flow {found['flow']}, key {found['key']}"]

    async def _data(self, rest: str) -> list[str]:
        data = (await self._conversation())["data"]
        text = json.dumps(data, indent=2, sort_keys=True, default=str, ensure_ascii=False)
        return [f"  {line}" for line in text.splitlines()]

    async def _reset(self, rest: str) -> list[str]:
        if self.remote is not None or self.database_url:
            raise ChatError(
                "/reset starts over on a fresh throw-away database, so it works without "
                "--url and --database (there, chat --from another number)"
            )
        await self.stop()
        self._seen_out = 0
        await self._start_app()
        self._begin()
        lines = ["  a fresh database, a fresh clock: the conversation starts over"]
        if self.voice is not None:
            lines += await self.voice.act("call", "")
        return lines

    async def _save(self, rest: str) -> list[str]:
        if not rest:
            raise ChatError("/save needs a file name: /save tests/transcripts/hello.transcript")
        try:
            path = self.recording.save(rest)
        except OSError as exc:
            raise ChatError(str(exc)) from None
        return [f"  saved {path} (replay it with pytest, like any transcript)"]
