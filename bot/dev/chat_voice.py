"""A call in ``switchboard chat``: keys, speech, silence, a recording, hang-up, ringing again.

Each line becomes the transcript's caller action (``> [digits 1]``, ``> [speech "…" 0.9]``,
``> [silence]``, ``> [hangup]``, ...) played by a :class:`~bot.dev.call.Call`, which follows
the TwiML as Twilio does; what the caller goes through is shown and recorded as ``<`` lines.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from bot.dev.call import Call, CallError
from bot.dev.reply import Reply

if TYPE_CHECKING:
    from bot.dev.chat import ChatSession

__all__ = ["VoiceLine"]

_KEYS = re.compile(r"[0-9*#]+")
_CONFIDENCE = 0.9  # what a typed sentence is heard with (written down, so a replay matches)


class VoiceLine:
    """The session's current call (``None`` before the first ring)."""

    COMMANDS = frozenset({"call", "hangup", "silence", "press", "say", "record", "dial"})

    def __init__(self, session: ChatSession) -> None:
        self.session = session
        self.call: Call | None = None

    def key(self) -> str:
        if self.call is None:
            raise CallError("no call yet: /call rings")
        return f"voice:{self.call.sid}"

    def _current(self) -> Call:
        if self.call is None or self.call.ended:
            raise CallError("the call has ended: /call rings again")
        return self.call

    async def said(self, text: str) -> list[str]:
        """A typed line on a call: keys when it is only digits, * and #; speech otherwise."""
        return await self.act("press" if _KEYS.fullmatch(text) else "say", text)

    async def act(self, name: str, rest: str) -> list[str]:
        """Run caller action ``name`` with its argument text ``rest``."""
        source, reply = await self._play(name, rest)
        return await self.session.turn(f"> [{source}]", reply)

    async def _play(self, name: str, rest: str) -> tuple[str, Reply]:
        if name == "call":
            if self.call is not None and not self.call.ended:
                raise CallError("a call is in progress: /hangup first")
            session = self.session
            self.call = Call(session.webhook, session.target.caller, session.ours)
            return "call", await self.call.start()
        call = self._current()
        if name == "press":
            if not _KEYS.fullmatch(rest):
                raise CallError(f"keys are 0-9, * and #, got {rest!r}")
            code = self.session.pending_code()  # typed, it is recorded as [code], never written
            typed_code = code is not None and rest in (code, code + "#")
            return "code" if typed_code else f"digits {rest}", await call.press(rest)
        if name == "say":
            if not rest:
                raise CallError("say what? /say I want to pay my bill")
            reply = await call.speak(rest, _CONFIDENCE)
            return f"speech {shlex.quote(rest)} {_CONFIDENCE}", reply
        if name == "silence":
            return "silence", await call.silence()
        if name == "hangup":
            return "hangup", await call.hangup()
        if name == "record":
            seconds = rest or "10"
            if not seconds.isdigit():
                raise CallError(f"/record takes seconds, got {seconds!r}")
            return f"record {seconds}", await call.record(int(seconds))
        status = rest or "completed"  # dial
        return f"dial {status}", await call.dial_ends(status)
