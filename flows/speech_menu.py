"""Example: a speech menu — say "billing", "support" or "operator" (or press 1, 2, 0).

menu ─"billing"/1→ billing (balance read out, goodbye)
menu ─"support"/2→ support ─(dial answered)→ done
                           └(not answered)→ menu   ("support is busy")
menu ─"operator"/0→ operator ─(dial, any outcome)→ done
menu: unclear speech (confidence under 0.5), other words or keys, or silence repeat the
menu twice; after that the caller is put through to the operator.
"""

from __future__ import annotations

from bot import Flow, T, Turn, dial_answered, heard, reprompt

__all__ = ["OPERATOR_NUMBER", "SPEECH_SUPPORT_NUMBER", "SpeechMenuFlow"]

OPERATOR_NUMBER = "+15550103000"
SPEECH_SUPPORT_NUMBER = "+15550103002"
PROMPT = "Which do you need: billing, support, or an operator? You can also press 1, 2 or 0."


class SpeechMenuFlow(Flow):
    name = "speech_menu"
    initial = "menu"
    states = ["menu", "billing", "support", "operator", "done"]
    final_states = ["billing", "done"]
    transitions = [
        T("gather", "menu", "billing", conditions=heard("billing", "bill", digits="1")),
        T("gather", "menu", "support", conditions=heard("support", "help", digits="2")),
        T("gather", "menu", "operator", conditions=heard("operator", "agent", digits="0")),
        *reprompt(
            "menu",
            times=2,
            fallback="operator",
            no_input="I didn't hear anything.",
            invalid="Sorry, I didn't catch that.",
        ),
        T("dial", "support", "done", conditions=dial_answered),
        T("dial", "support", "menu", before="support_busy"),
        T("dial", "operator", "done", conditions=dial_answered),
        T("dial", "operator", "done", before="operator_unavailable"),
    ]

    def on_enter_menu(self, turn: Turn) -> None:
        turn.gather(
            PROMPT,
            input="dtmf speech",
            num_digits=1,
            timeout=5,
            speech_timeout="auto",
            hints=["billing", "support", "operator"],
            language="en-US",
        )

    def on_enter_billing(self, turn: Turn) -> None:
        turn.data["heard"] = turn.text
        turn.say("Your balance is 42 dollars and 50 cents, due on the first of the month.")
        turn.say("Goodbye.")
        turn.hangup()

    def on_enter_support(self, turn: Turn) -> None:
        turn.say("Connecting you to support.")
        turn.dial(SPEECH_SUPPORT_NUMBER, timeout=20)

    def on_enter_operator(self, turn: Turn) -> None:
        turn.say("Putting you through to an operator.")
        turn.dial(OPERATOR_NUMBER, timeout=30)

    def on_enter_done(self, turn: Turn) -> None:
        turn.say("Thanks for calling. Goodbye.")
        turn.hangup()

    def support_busy(self, turn: Turn) -> None:
        turn.say("Sorry, support is busy right now.")

    def operator_unavailable(self, turn: Turn) -> None:
        turn.say("Sorry, no operator is free. Please call again later.")
