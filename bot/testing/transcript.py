"""The transcript format: a conversation written down, one line per turn.

See docs/transcripts.md. A transcript is a header (``key: value`` lines) and then steps::

    > hi                       the person sends "hi"
    >+ https://x/a.jpg image/jpeg   ...with this attachment
    < Hello!                   we answer exactly "Hello!"
    < /Order \\w+ is .*/       ...then a message matching the regular expression
    <+ https://x/b.png         ...which carries this media URL
    < (no reply)               we answer nothing
    > [digits 1]               a caller action (voice: digits, speech, silence, hangup, ...)
    @ +2h                      the clock moves on two hours (d, h, m, s; or an ISO time)
    = state menu               the conversation is now in state ``menu``
    ! deploy pkg.mod:build     new code is deployed: the app ``build`` makes, same database
    [handed off]               the conversation is in the hands of people (hand-off)
    [returned to flow]         ...and is not (any more); ``> [operator alice say Hi]`` acts
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "Advance",
    "Check",
    "Deploy",
    "Expect",
    "Send",
    "Step",
    "Transcript",
    "TranscriptSyntaxError",
    "parse",
]

_DURATION = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_HANDOFF_CHECKS = {"[handed off]", "[returned to flow]"}
_HEADER_KEYS = {"flow", "channel", "from", "to", "start", "name", "compliance"}


class TranscriptSyntaxError(ValueError):
    """A transcript line cannot be read; the message names the file and line."""


@dataclass
class Send:
    """A ``>`` line: text, or a bracketed caller action with arguments."""

    line: int
    source: str
    text: str = ""
    action: str | None = None
    args: list[str] = field(default_factory=list)
    media: list[tuple[str, str]] = field(default_factory=list)
    expect: list[Expect] = field(default_factory=list)
    no_reply: bool = False


@dataclass
class Expect:
    """A ``<`` line: exact text, or ``/regex/`` matched against the whole reply line."""

    line: int
    text: str
    media: list[str] = field(default_factory=list)

    @property
    def pattern(self) -> re.Pattern[str] | None:
        if len(self.text) >= 2 and self.text.startswith("/") and self.text.endswith("/"):
            return re.compile(self.text[1:-1], re.DOTALL)
        return None

    def matches(self, actual: str) -> bool:
        pattern = self.pattern
        return pattern.fullmatch(actual) is not None if pattern else actual == self.text


@dataclass
class Advance:
    """An ``@`` line: move the fake clock by ``delta`` or to ``to``."""

    line: int
    delta: timedelta | None = None
    to: datetime | None = None


@dataclass
class Check:
    """An ``=`` line: ``= state NAME`` (more checks may be added by name)."""

    line: int
    what: str
    value: str


@dataclass
class Deploy:
    """A ``! deploy module:callable`` line: the app that callable builds replaces the running
    one, on the same database, clock and fake Twilio (a deploy of new code)."""

    line: int
    target: str


Step = Send | Advance | Check | Deploy


@dataclass
class Transcript:
    """A parsed transcript: its header and steps."""

    path: str
    header: dict[str, str]
    steps: list[Step]


def parse_duration(text: str) -> timedelta:
    """``+2h``, ``+1d 30m``, ``+90s`` → a timedelta."""
    body = text.strip().removeprefix("+").replace(" ", "")
    found = _DURATION.findall(body)
    if not found or "".join(n + u for n, u in found) != body:
        raise ValueError(f"not a duration: {text!r} (use e.g. +2h, +1d30m, +90s)")
    return timedelta(**{_UNITS[u]: int(n) for n, u in found})


class _Parser:
    def __init__(self, path: str) -> None:
        self.path = path
        self.header: dict[str, str] = {}
        self.steps: list[Step] = []
        self.number = 0

    def fail(self, why: str) -> TranscriptSyntaxError:
        return TranscriptSyntaxError(f"{self.path}:{self.number}: {why}")

    def last_send(self) -> Send:
        sends = [s for s in self.steps if isinstance(s, Send)]
        if not sends:
            raise self.fail("a reply or attachment line comes before anything was sent")
        return sends[-1]

    def line(self, raw: str) -> None:
        text = raw.rstrip("\n")
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            return
        marker, _, rest = stripped.partition(" ")
        handler = {
            ">": self.send, ">+": self.send_media, "<": self.expect, "<+": self.expect_media,
            "@": self.advance, "=": self.check, "!": self.operator,
        }.get(marker)  # fmt: skip
        if stripped in _HANDOFF_CHECKS:
            self.steps.append(Check(self.number, "handoff", stripped))
        elif handler is not None:
            handler(rest.strip() if marker != "<" else rest)
        elif not self.steps and ":" in stripped:
            key, _, value = stripped.partition(":")
            if key.strip().lower() not in _HEADER_KEYS:
                raise self.fail(f"unknown header {key.strip()!r} (known: {sorted(_HEADER_KEYS)})")
            self.header[key.strip().lower()] = value.strip()
        else:
            raise self.fail(
                f"cannot read {stripped!r}: lines start with > < @ = ! or #, "
                "or are [handed off] or [returned to flow]"
            )

    def send(self, rest: str) -> None:
        if rest.startswith("[") and rest.endswith("]"):
            try:
                words = shlex.split(rest[1:-1])
            except ValueError as exc:
                raise self.fail(f"bad caller action {rest!r}: {exc}") from exc
            if not words:
                raise self.fail("empty caller action []")
            self.steps.append(Send(self.number, rest, action=words[0], args=words[1:]))
        else:
            self.steps.append(Send(self.number, rest, text=rest))

    def send_media(self, rest: str) -> None:
        url, _, content_type = rest.partition(" ")
        if not url:
            raise self.fail(">+ needs a media URL (and optionally its content type)")
        self.last_send().media.append((url, content_type.strip() or "image/jpeg"))

    def expect(self, rest: str) -> None:
        send = self.last_send()
        if rest.strip() == "(no reply)":
            if send.expect:
                raise self.fail("(no reply) after a reply line for the same turn")
            send.no_reply = True
        else:
            if send.no_reply:
                raise self.fail("a reply line after (no reply) for the same turn")
            send.expect.append(Expect(self.number, rest))

    def expect_media(self, rest: str) -> None:
        send = self.last_send()
        if not send.expect:
            raise self.fail("<+ (media) must follow a < reply line")
        send.expect[-1].media.append(rest.strip())

    def advance(self, rest: str) -> None:
        try:
            if rest.startswith("+"):
                self.steps.append(Advance(self.number, delta=parse_duration(rest)))
            else:
                when = datetime.fromisoformat(rest.replace("Z", "+00:00"))
                self.steps.append(Advance(self.number, to=when))
        except ValueError as exc:
            raise self.fail(str(exc)) from exc

    def operator(self, rest: str) -> None:
        verb, _, target = rest.partition(" ")
        module, _, name = target.strip().partition(":")
        if verb != "deploy" or not module or not name or " " in target.strip():
            raise self.fail(f"cannot read '! {rest}': use ! deploy module:callable")
        self.steps.append(Deploy(self.number, target.strip()))

    def check(self, rest: str) -> None:
        what, _, value = rest.partition(" ")
        if what not in {"state", "closed", "data"}:
            raise self.fail(
                f"unknown check {what!r} (use: = state NAME, = closed, = data KEY JSON)"
            )
        self.steps.append(Check(self.number, what, value.strip()))

    def finish(self) -> Transcript:
        for step in self.steps:
            if isinstance(step, Send) and not step.expect and not step.no_reply:
                self.number = step.line
                raise self.fail("nothing is expected after this line: add < lines or < (no reply)")
        return Transcript(self.path, self.header, self.steps)


def parse(text: str, path: str = "<transcript>") -> Transcript:
    """Parse transcript ``text``; :class:`TranscriptSyntaxError` names the bad line."""
    parser = _Parser(path)
    for number, raw in enumerate(text.splitlines(), start=1):
        parser.number = number
        parser.line(raw)
    return parser.finish()
