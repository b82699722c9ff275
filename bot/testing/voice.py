"""Voice in transcripts: caller actions (``> [digits 1]``) and how voice verbs read (``<``).

Caller actions (see docs/transcripts.md)::

    > [call]                    the caller rings our number (a new CallSid)
    > [digits 1]                keys pressed at a <Gather>
    > [speech "billing" 0.92]   words said at a <Gather>, with Twilio's confidence (optional)
    > [silence]                 the <Gather> times out with nothing
    > [record 12]               a 12-second message at a <Record> (``[record 12 hangup]``,
                                ``[record 0]`` for nothing recorded)
    > [dial busy]               the <Dial> ends: completed, busy, no-answer, failed, canceled
    > [hangup]                  the caller hangs up (the ``completed`` status callback)
    > [status busy]             a call status callback (``[status ringing 0]`` sets its
                                SequenceNumber; repeat one to send a duplicate)
    > [recording completed]     the recording status callback
    > [transcription "Hi..."]   the transcription callback (``[transcription failed]``)
    > [retry]                   Twilio sends the previous request again

What the caller hears reads as :mod:`bot.dev.replies` writes it (``say: …``, ``dial: <number>``,
``record``, ``hangup``, ...).
"""

from __future__ import annotations

from bot.dev.call import Call, CallError
from bot.dev.reply import Reply
from bot.events.model import Channel
from bot.testing.runner import CALLER_ACTIONS, Runner
from bot.testing.transcript import Send

__all__ = ["call_of", "voice_action"]


def call_of(runner: Runner, step: Send) -> Call:
    """The transcript's current call."""
    call = runner.session.get("call")
    if not isinstance(call, Call):
        raise runner.fail(step, "no call yet: start one with > [call]")
    return call


def _arg(runner: Runner, step: Send, index: int, default: str | None = None) -> str:
    if index < len(step.args):
        return step.args[index]
    if default is None:
        raise runner.fail(step, f"[{step.action}] needs more arguments: {step.source}")
    return default


def _number(runner: Runner, step: Send, index: int, default: str) -> int:
    raw = _arg(runner, step, index, default)
    if not raw.lstrip("-").isdigit():
        raise runner.fail(step, f"[{step.action}] wants a whole number, got {raw!r}")
    return int(raw)


def _confidence(runner: Runner, step: Send) -> float | None:
    raw = _arg(runner, step, 1, "")
    try:
        return float(raw) if raw else None
    except ValueError:
        raise runner.fail(step, f"confidence must be a number, got {raw!r}") from None


def _start(runner: Runner, step: Send) -> Call:
    if runner.channel is not Channel.VOICE or runner.harness is None:
        raise runner.fail(step, "[call] needs `channel: voice` in the header")
    call = Call(runner.harness, _arg(runner, step, 0, runner.caller), runner.ours)
    runner.session["call"] = call
    runner.key = f"voice:{call.sid}"
    return call


async def _act(runner: Runner, step: Send) -> Reply:
    """Dispatch one voice caller action to the call."""
    if step.action == "call":
        return await _start(runner, step).start()
    call, name = call_of(runner, step), step.action
    if name == "digits":
        return await call.press(_arg(runner, step, 0))
    if name == "speech":
        return await call.speak(_arg(runner, step, 0), _confidence(runner, step))
    if name == "silence":
        return await call.silence()
    if name == "record":
        return await call.record(_number(runner, step, 0, "0"), _arg(runner, step, 1, "#"))
    if name == "dial":
        return await call.dial_ends(_arg(runner, step, 0), _number(runner, step, 1, "0"))
    if name == "hangup":
        return await call.hangup()
    if name == "status":
        seq = _arg(runner, step, 1, "")
        return await call.status_update(_arg(runner, step, 0), int(seq) if seq.isdigit() else None)
    if name == "recording":
        return await call.recording_status(_arg(runner, step, 0, "completed"))
    if name == "transcription":
        text = _arg(runner, step, 0)
        return await call.transcription(text, failed=text == "failed")
    return await call.retry()


async def voice_action(runner: Runner, step: Send) -> Reply:
    """A voice caller action; a call that cannot do it fails the transcript at this line."""
    try:
        return await _act(runner, step)
    except CallError as exc:
        raise runner.fail(step, str(exc)) from None


for _name in ("call", "digits", "speech", "silence", "record", "dial", "hangup", "status",
              "recording", "transcription", "retry"):  # fmt: skip
    CALLER_ACTIONS[_name] = voice_action
