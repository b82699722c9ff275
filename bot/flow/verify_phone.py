"""``VerifyPhone``: the subflow that verifies a phone number with a one-time code.

Call it from a state of your flow (``subflows = {"verifying": VerifyPhone}``, then
``turn.call(VerifyPhone, to=..., channel="sms")`` or no arguments: the person's own number,
by SMS, or WhatsApp on a WhatsApp conversation). Arguments:

``to``             the number to verify (default: the person's)
``channel``        ``sms``, ``whatsapp`` or ``call`` (default: as above; SMS on a call)
``fallback_after`` wrong codes by SMS/WhatsApp after which the code comes by a call (2)
``max_attempts``   wrong codes in all before it stops (4; Verify's own limit is 5)
``max_resends``    new codes the person may ask for (2)

The person replies with the code (on a call: keys, then #), ``NEW`` (``*`` on a call) for a
new code, or ``SKIP`` (``0`` on a call; not ``CANCEL``, which is an opt-out keyword). It
returns ``completed`` with ``{"status": "verified", "to": …}``, ``failed`` with ``status``
``not_verified`` (wrong too often, limits, a number that cannot get codes; ``reason`` says
which) or ``gave_up`` (``SKIP``), and ``expired`` when nobody answered for 15 minutes. The
code is never kept: the reply goes to Verify and the log shows it masked (docs/verify.md).
"""

from __future__ import annotations

from typing import Any

from bot.events.model import Channel
from bot.flow.definition import Flow, T
from bot.flow.intents import Timeout
from bot.flow.subflow import Outcome as Exit
from bot.flow.turn import Turn
from bot.flow.verification import Sent, VerifyChannel, VerifyOutcome

__all__ = ["VerifyPhone"]

_NEW = {"new", "resend", "again", "*"}
_SKIP = {"skip", "later", "0"}  # not CANCEL: that is an opt-out keyword
_BY = {VerifyChannel.SMS: "text message", VerifyChannel.WHATSAPP: "WhatsApp",
       VerifyChannel.CALL: "phone call"}  # fmt: skip
_LIMITED = "You've asked for too many codes. Please try again later."
_SENT_FAILED = {
    VerifyOutcome.RATE_LIMITED: _LIMITED,
    VerifyOutcome.SENDS_EXHAUSTED: _LIMITED,
    VerifyOutcome.INVALID: "Sorry, we can't send a code to that number.",
    VerifyOutcome.OPTED_OUT: "You've opted out of our messages, so we can't text you a code.",
}
_UNAVAILABLE = "Sorry, we couldn't send a code just now. Please try again later."


def _masked(number: str) -> str:
    return "…" + number[-4:] if len(number) > 4 else number


class VerifyPhone(Flow):
    """Verify a number with a code sent by Twilio Verify (see the module doc)."""

    name = "verify_phone"
    states = ["sending", "waiting", "verified", "not_verified", "gave_up", "timed_out"]
    initial = "sending"
    final_states = ["verified", "not_verified", "gave_up", "timed_out"]
    outcomes = {"not_verified": Exit.FAILED, "gave_up": Exit.FAILED, "timed_out": Exit.EXPIRED}
    timeouts = {"waiting": [Timeout("15m", "idle")]}
    transitions = [
        T("started", "sending", "waiting", prepare="send_first", conditions="goes_on"),
        T("started", "sending", "not_verified"),
        *[
            T(trigger, "waiting", None, prepare="answer", conditions="goes_on")
            for trigger in ("message", "gather")
        ],
        *[
            T(trigger, "waiting", dest, conditions=f"ends_{dest}")
            for trigger in ("message", "gather")
            for dest in ("verified", "not_verified", "gave_up")
        ],
        T("idle", "waiting", "timed_out"),
    ]

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.next = "waiting"

    # -- routing: prepare decides, conditions follow -----------------------------------

    def goes_on(self, turn: Turn) -> bool:
        return self.next == "waiting"

    def ends_verified(self, turn: Turn) -> bool:
        return self.next == "verified"

    def ends_not_verified(self, turn: Turn) -> bool:
        return self.next == "not_verified"

    def ends_gave_up(self, turn: Turn) -> bool:
        return self.next == "gave_up"

    # -- the work ----------------------------------------------------------------------

    async def send_first(self, turn: Turn) -> None:
        data = turn.data
        data.setdefault("to", turn.caller.removeprefix("whatsapp:"))
        default = "whatsapp" if turn.channel is Channel.WHATSAPP else "sms"
        data["channel"] = str(data.get("channel") or default)
        data.update(wrong=0, resends=0)
        self._finish_sending(turn, await self._send(turn, VerifyChannel(data["channel"])))

    async def answer(self, turn: Turn) -> None:
        reply = turn.text.strip().lower()
        if reply in _SKIP:
            self._end(turn, "gave_up", "OK, we won't verify your number now.", "skipped")
        elif reply in _NEW:
            await self._resend(turn)
        elif reply:
            await self._check(turn, turn.text.strip())
        else:
            self._ask(turn, "We didn't get a code. " + self._how(turn))

    async def _resend(self, turn: Turn) -> None:
        data = turn.data
        if data["resends"] >= int(data.get("max_resends", 2)):
            self._ask(turn, "You can't ask for more codes now. " + self._how(turn))
            return
        data["resends"] += 1
        sent = await self._send(turn, VerifyChannel(data["channel"]))
        if sent.ok:
            self._ask(turn, f"A new code is on its way by {_BY[sent.channel]}.")
        else:
            self._finish_sending(turn, sent)

    async def _check(self, turn: Turn, code: str) -> None:
        turn.masked = True  # the reply is a code: never in the log
        verify, data = turn.verify, turn.data
        checked = await verify.check(data["to"], code) if verify else None
        outcome = checked.outcome if checked else VerifyOutcome.UNAVAILABLE
        if outcome is VerifyOutcome.APPROVED:
            self._end(turn, "verified", "Thanks, your number is verified.")
        elif outcome is VerifyOutcome.PENDING:
            await self._wrong(turn)
        elif outcome is VerifyOutcome.EXPIRED:
            self._ask(turn, "That code has expired. " + self._how(turn))
        elif outcome is VerifyOutcome.CHECKS_EXHAUSTED:
            self._end(turn, "not_verified", "Too many wrong codes. Please try later.", "checks")
        else:
            self._ask(turn, "Sorry, we couldn't check the code just now. Please try again.")

    async def _wrong(self, turn: Turn) -> None:
        data = turn.data
        data["wrong"] += 1
        if data["wrong"] >= int(data.get("max_attempts", 4)):
            self._end(turn, "not_verified", "That code isn't right, and that was the last try.",
                      "wrong_codes")  # fmt: skip
            return
        # (not while on a call with us: the line is busy with this very call)
        by_message = data["channel"] != VerifyChannel.CALL and turn.channel is not Channel.VOICE
        if by_message and data["wrong"] == int(data.get("fallback_after", 2)):
            data["channel"] = VerifyChannel.CALL.value
            sent = await self._send(turn, VerifyChannel.CALL)
            if sent.ok:
                self._ask(turn, "That code isn't right. We're calling you with a new code.")
                return
        self._ask(turn, "That code isn't right. " + self._how(turn))

    async def _send(self, turn: Turn, channel: VerifyChannel) -> Sent:
        verify, to = turn.verify, str(turn.data["to"])
        if verify is None:
            return Sent(VerifyOutcome.UNAVAILABLE, channel)
        sent = await verify.send(to, channel, ours=turn.key.ours)
        if sent.outcome in (VerifyOutcome.LANDLINE, VerifyOutcome.CHANNEL_DISABLED):
            turn.data["channel"] = VerifyChannel.CALL.value  # a landline hears its code
            sent = await verify.send(to, VerifyChannel.CALL, ours=turn.key.ours)
        return sent

    def _finish_sending(self, turn: Turn, sent: Sent) -> None:
        if sent.ok:
            by, to = _BY[sent.channel], _masked(str(turn.data["to"]))
            self._ask(turn, f"We've sent a code to {to} by {by}. " + self._how(turn))
            return
        text = _SENT_FAILED.get(sent.outcome, _UNAVAILABLE)
        self._end(turn, "not_verified", text, sent.outcome.value)

    def _how(self, turn: Turn) -> str:
        if turn.channel is Channel.VOICE:
            return (
                "Enter the code followed by the pound key, press star for a new code, or 0 to skip."
            )
        return "Reply with the code, NEW for a new code, or SKIP."

    def _ask(self, turn: Turn, text: str) -> None:
        self.next = "waiting"
        if turn.channel is Channel.VOICE:
            turn.gather(text, finish_on_key="#", timeout=10)
        else:
            turn.say(text)

    def _end(self, turn: Turn, state: str, text: str, reason: str = "") -> None:
        self.next = state
        turn.say(text)
        result: dict[str, Any] = {"status": state, "to": turn.data.get("to")}
        if reason:
            result["reason"] = reason
        turn.data["result"] = result
