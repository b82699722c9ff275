"""Example: sign-up that verifies the person's number with :class:`~bot.VerifyPhone`, then
continues — by SMS (or WhatsApp) and on a call, to :data:`flows.SIGNUP_NUMBER`.

ask_name ─(a name)→ verifying ══ VerifyPhone ══╗
                                               ├─ completed → welcome          (signed up)
                                               ├─ failed    → unverified       (not signed up)
                                               └─ expired   → unverified
On a call the name is skipped: a key press starts verifying the caller's number, whose code
comes by SMS and is entered on the keypad.
"""

from __future__ import annotations

from bot import Channel, Flow, T, Turn, VerifyPhone

__all__ = ["SignupFlow"]


class SignupFlow(Flow):
    name = "verified_signup"
    states = ["ask_name", "verifying", "welcome", "unverified"]
    initial = "ask_name"
    final_states = ["welcome", "unverified"]
    subflows = {"verifying": VerifyPhone}
    transitions = [
        T("message", "ask_name", "verifying", conditions="has_name", after="verify"),
        T("message", "ask_name", None, after="ask_again"),
        T("gather", "ask_name", "verifying", after="verify"),
        T("completed", "verifying", "welcome"),
        T("failed", "verifying", "unverified"),
        T("expired", "verifying", "unverified"),
    ]

    def on_enter_ask_name(self, turn: Turn) -> None:
        if turn.channel is Channel.VOICE:
            turn.gather("Welcome to sign-up. Press any key to verify this number.", num_digits=1)
        else:
            turn.say("Welcome! What's your name?")

    def has_name(self, turn: Turn) -> bool:
        return bool(turn.text.strip())

    def ask_again(self, turn: Turn) -> None:
        turn.say("Please tell us your name.")

    def verify(self, turn: Turn) -> None:
        turn.data["name"] = turn.text.strip() if turn.channel is not Channel.VOICE else ""
        turn.call(VerifyPhone, fallback_after=2)

    def on_enter_welcome(self, turn: Turn) -> None:
        name = turn.data.get("name") or "there"
        turn.data["verified"] = turn.result.value["to"] if turn.result else None
        turn.say(f"You're signed up, {name}. Welcome aboard!")
        if turn.channel is Channel.VOICE:
            turn.hangup()

    def on_enter_unverified(self, turn: Turn) -> None:
        turn.say("We couldn't verify your number, so you're not signed up. Text us to try again.")
        if turn.channel is Channel.VOICE:
            turn.hangup()
