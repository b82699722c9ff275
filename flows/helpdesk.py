"""Example: a help desk that hands off to a person (issue 13).

ask ─(delivery | returns | hours)→ ask          (answered from the FAQ)
ask ─"agent"→ ask, handed off                   (a person takes over)
ask ─(not understood twice)→ ask, handed off
Nobody claims it in 30 minutes → back at ``ask`` with an apology; an operator's "return to
the flow" comes back to ``ask`` too, and its entry says so.
"""

from __future__ import annotations

from bot import Flow, T, Turn, text_is, text_matches

__all__ = ["HELPDESK_NUMBER", "HelpdeskFlow"]

HELPDESK_NUMBER = "+15550100300"
PROMPT = "Ask me about delivery, returns or opening hours, or reply AGENT for a person."
ANSWERS = {
    "delivery": "Orders arrive in 2-4 working days.",
    "return": "You can return anything within 30 days; reply AGENT to start a return.",
    "hour": "We're open Monday to Friday, 9am to 6pm.",
}
MISSES_BEFORE_HANDOFF = 2
NOBODY_ANSWERED = "Sorry, nobody is free right now. " + PROMPT
LOST = "Sorry, I'm not getting it. A person will answer you here."
WELCOME_BACK = "You're back with the help desk bot. " + PROMPT


class HelpdeskFlow(Flow):
    name = "helpdesk"
    initial = "ask"
    states = ["ask"]
    transitions = [
        T("message", "ask", None, conditions=text_is("agent", "human", "person"), after="agent"),
        T(
            "message",
            "ask",
            None,
            conditions=text_matches(r"(?i).*(deliver|return|hour).*"),
            after="answer",
        ),
        T("invalid", "ask", None, after="not_understood"),
    ]

    def on_enter_ask(self, turn: Turn) -> None:
        outcome = turn.data.pop("handoff_outcome", None)
        turn.data["misses"] = 0
        if outcome == "timeout":
            turn.say(NOBODY_ANSWERED)
        elif outcome == "returned":
            turn.say(WELCOME_BACK)
        else:
            turn.say(PROMPT)

    def answer(self, turn: Turn) -> None:
        text = turn.text.lower()
        turn.say(next(a for word, a in ANSWERS.items() if word in text))

    def agent(self, turn: Turn) -> None:
        turn.handoff("asked for a person", resume="ask", after="30m")

    def not_understood(self, turn: Turn) -> None:
        turn.data["misses"] = turn.data.get("misses", 0) + 1
        if turn.data["misses"] >= MISSES_BEFORE_HANDOFF:
            turn.handoff("not understood twice", resume="ask", after="30m", holding=LOST)
        else:
            turn.say("Sorry, I didn't get that. " + PROMPT)
