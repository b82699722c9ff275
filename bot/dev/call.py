"""A phone call driven like Twilio drives one, for tests and transcripts.

``Call`` posts signed voice requests and plays each TwiML answer the way Twilio would: it
follows ``<Redirect>`` to our webhook at once, stops at the verb that waits for the caller
(``<Gather>``, ``<Record>``, ``<Dial>``) and remembers its action URL, and ends at
``<Hangup>``, ``<Reject>`` or the end of the document. The :class:`Reply` it returns holds
every verb the caller went through, so a transcript reads what the caller heard.

>>> call = harness.call("+15550001111")
>>> await call.start()              # the greeting and the menu
>>> await call.press("1")           # the Gather's action URL, with Digits=1
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.dev.reply import Reply, Webhook, new_sid

__all__ = ["Call", "CallError"]

_API = "https://api.twilio.com/2010-04-01"
_MAX_REDIRECTS = 10
_WAITS = {"Gather", "Record", "Dial", "Enqueue"}
_ENDS = {"Hangup", "Reject"}


class CallError(AssertionError):
    """The test asked the call for something Twilio could not do at this point."""


@dataclass
class Call:
    """One inbound call from ``caller`` to our number ``to``."""

    harness: Webhook  # the app in process (a Harness) or a running server
    caller: str
    to: str
    sid: str = field(default_factory=lambda: new_sid("CA"))
    waiting: ET.Element | None = None
    ended: bool = False
    started: bool = False
    sequence: int = 0
    status: str = "ringing"
    recording_sid: str = field(default_factory=lambda: new_sid("RE"))
    last: tuple[str, list[tuple[str, str]]] | None = None

    def params(self, extra: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
        """The parameters Twilio sends with every request about this call."""
        base = [
            ("AccountSid", "AC" + "0" * 32), ("ApiVersion", "2010-04-01"), ("CallSid", self.sid),
            ("CallStatus", self.status), ("Called", self.to), ("Caller", self.caller),
            ("Direction", "inbound"), ("From", self.caller), ("FromCountry", "US"),
            ("To", self.to), ("ToCountry", "US"),
        ]  # fmt: skip
        return base + list(extra)

    def _path(self, url: str) -> str:
        base = self.harness.public_url
        if not url.startswith(base + "/"):
            raise CallError(f"the TwiML points at {url!r}, which is not our webhook ({base})")
        return url[len(base) :]

    async def start(self) -> Reply:
        """Ring our number: the incoming-call webhook."""
        if self.started:
            raise CallError("this call has already started; start a new Call")
        self.started, self.status = True, "in-progress"
        return await self._play(await self._post("/twilio", self.params()))

    def _expect(self, tag: str) -> ET.Element:
        if self.ended:
            raise CallError("the call has ended")
        if self.waiting is None or self.waiting.tag != tag:
            now = self.waiting.tag if self.waiting is not None else "nothing"
            raise CallError(f"the call is not at a <{tag}> (it waits on {now})")
        return self.waiting

    async def _post(self, path: str, params: list[tuple[str, str]]) -> Reply:
        self.last = (path, params)
        return await self.harness.post(path, params)

    async def _answer(self, tag: str, extra: list[tuple[str, str]]) -> Reply:
        verb = self._expect(tag)
        self.waiting = None
        url = verb.get("action") or ""
        return await self._play(await self._post(self._path(url), self.params(extra)))

    async def retry(self) -> Reply:
        """Send the previous request again, exactly (as Twilio does after a timeout)."""
        if self.last is None:
            raise CallError("nothing was sent yet, so there is nothing to retry")
        path, params = self.last
        reply = await self.harness.post(path, params)
        return await self._play(reply) if path.startswith("/twilio?") else reply

    async def press(self, digits: str) -> Reply:
        """Press keys at a ``<Gather>`` that takes DTMF; a trailing finish key (``#`` unless
        the Gather says otherwise) ends them and is not posted, as with Twilio."""
        gather = self._expect("Gather")
        if "dtmf" not in gather.get("input", "dtmf"):
            raise CallError("this <Gather> listens for speech only; keys are ignored")
        finish = gather.get("finishOnKey", "#")  # it ends the keys; Twilio does not post it
        if finish and digits.endswith(finish):
            digits = digits[: -len(finish)]
            if not digits:  # the finish key alone: an empty result, as silence is
                return await self._answer("Gather", [])
        limit = gather.get("numDigits")
        if limit and len(digits.rstrip("#")) > int(limit):  # more keys still go (attack tests)
            raise CallError(f"this <Gather> takes {limit} digit(s); {digits!r} is too many")
        return await self._answer("Gather", [("Digits", digits)])

    async def speak(self, text: str, confidence: float | None = 0.9) -> Reply:
        """Say ``text`` at a ``<Gather>`` that takes speech."""
        gather = self._expect("Gather")
        if "speech" not in gather.get("input", "dtmf"):
            raise CallError("this <Gather> takes keys only; speech is ignored")
        extra = [("SpeechResult", text)]
        if confidence is not None:
            extra.append(("Confidence", f"{confidence:.8f}".rstrip("0")))
        return await self._answer("Gather", extra)

    async def silence(self) -> Reply:
        """Say and press nothing until the ``<Gather>`` times out."""
        return await self._answer("Gather", [])

    async def record(self, seconds: int, key: str = "#") -> Reply:
        """Leave a ``seconds``-long message at a ``<Record>``, ended by ``key`` (or hangup)."""
        if seconds <= 0:
            return await self._answer("Record", [])  # nothing recorded: Twilio falls through
        url = self._recording()[1][1]
        extra = [("RecordingUrl", url), ("RecordingDuration", str(seconds)), ("Digits", key)]
        return await self._answer("Record", extra)

    async def dial_ends(self, status: str, seconds: int = 0) -> Reply:
        """The ``<Dial>`` ends with ``status`` (completed, busy, no-answer, failed...)."""
        bridged = "true" if status == "completed" else "false"
        extra = [("DialCallStatus", status), ("DialCallSid", new_sid("CA")),
                 ("DialCallDuration", str(seconds)), ("DialBridged", bridged)]  # fmt: skip
        return await self._answer("Dial", extra)

    async def queue_ends(self, result: str, seconds: int = 0) -> Reply:
        """The ``<Enqueue>`` ends with ``result`` (bridged, hangup, leave, queue-full...)."""
        extra = [("QueueResult", result), ("QueueSid", new_sid("QU")), ("QueueTime", str(seconds))]
        return await self._answer("Enqueue", extra)

    async def callback(self, params: list[tuple[str, str]]) -> Reply:
        """POST a status callback about this call to ``/twilio/status``."""
        return await self._post("/twilio/status", params)

    def _recording(self) -> list[tuple[str, str]]:
        url = f"{_API}/Accounts/AC{'0' * 32}/Recordings/{self.recording_sid}"
        return [("RecordingSid", self.recording_sid), ("RecordingUrl", url)]

    async def recording_status(self, status: str = "completed", seconds: int = 12) -> Reply:
        """The ``recordingStatusCallback`` (it carries no From/To, as Twilio's does not)."""
        params = [("AccountSid", "AC" + "0" * 32), ("CallSid", self.sid), *self._recording(),
                  ("RecordingStatus", status), ("RecordingDuration", str(seconds)),
                  ("RecordingChannels", "1"), ("RecordingSource", "RecordVerb")]  # fmt: skip
        return await self.callback(params)

    async def transcription(self, text: str, *, failed: bool = False) -> Reply:
        """The ``transcribeCallback`` with ``text`` (or a failed transcription)."""
        extra = [("TranscriptionSid", "TR" + self.recording_sid[2:]), *self._recording(),
                 ("TranscriptionStatus", "failed" if failed else "completed"),
                 ("TranscriptionText", "" if failed else text),
                 ("TranscriptionUrl", "https://api.twilio.com/transcriptions")]  # fmt: skip
        return await self.callback(self.params(extra))

    async def hangup(self, status: str = "completed") -> Reply:
        """The caller hangs up: Twilio's call status callback follows."""
        self.ended, self.waiting = True, None
        return await self.status_update(status)

    async def status_update(self, status: str, sequence: int | None = None) -> Reply:
        """A call status callback (``sequence`` defaults to the next number)."""
        self.status = status
        number = self.sequence if sequence is None else sequence
        self.sequence = max(self.sequence, number + 1)
        stamp = "Mon, 05 Jan 2026 09:00:42 +0000"
        extra = [("SequenceNumber", str(number)), ("CallbackSource", "call-progress-events"),
                 ("CallDuration", "42"), ("Timestamp", stamp)]  # fmt: skip
        return await self.callback(self.params(extra))

    async def _play(self, reply: Reply) -> Reply:
        """Run ``reply`` like Twilio: follow redirects, stop where the caller must act."""
        heard: list[ET.Element] = []
        for _ in range(_MAX_REDIRECTS):
            if reply.status != 200:
                return reply
            follow = self._walk(reply.root, heard)
            if follow is None:
                return self._merged(heard, reply)
            reply = await self._post(self._path(follow), self.params())
        raise CallError(f"more than {_MAX_REDIRECTS} redirects in a row")

    def _walk(self, root: ET.Element, heard: list[ET.Element]) -> str | None:
        for verb in root:
            if verb.tag == "Redirect":
                return verb.text or ""
            heard.append(verb)
            if verb.tag in _WAITS:
                self.waiting = verb
                return None
            if verb.tag in _ENDS:
                break
        self.ended, self.waiting = True, None  # Twilio hangs up at the end of the document
        return None

    @staticmethod
    def _merged(heard: list[ET.Element], last: Reply) -> Reply:
        root = ET.Element("Response")
        root.extend(heard)
        body = ET.tostring(root, encoding="unicode")
        return Reply(last.status, body, last.content_type)
