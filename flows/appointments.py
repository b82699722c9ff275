"""Example: an appointment reminder, started by us (a notification), waiting for a reply.

    reminding ─C→ confirmed        "See you then"
    reminding ─X→ cancelled        "Cancelled"
    reminding ─R→ rescheduling ─(any text)→ rescheduled
    reminding: no reply in 2 h → one reminder; none in 24 h → no_show

Start it from Python (``start_conversation(engine, "appointments", "+1…", from_=...,
data={"name": "Ana", "when": "Tue 10:00"})``) or from the command line
(``switchboard send appointments --from +1… --csv patients.csv``). The timers are stored,
so they fire after a restart and on any instance.
"""

from __future__ import annotations

from bot import Flow, T, Turn, text_is
from bot.flow.intents import Timeout

CONFIRM = ("c", "confirm", "yes", "y")
# "cancel" and "stop" are opt-out keywords (STOP, CANCEL, END, QUIT, ...): the consent
# transitions take them before any flow, so the flow asks for X.
CANCEL = ("x", "no")
RESCHEDULE = ("r", "reschedule")
CHOICES = "Reply C to confirm, X to cancel or R to reschedule."


__all__ = ["AppointmentFlow"]


class AppointmentFlow(Flow):
    name = "appointments"
    initial = "reminding"
    states = ["reminding", "confirmed", "cancelled", "rescheduling", "rescheduled", "no_show"]
    final_states = ["confirmed", "cancelled", "rescheduled", "no_show"]
    transitions = [
        T("message", "reminding", "confirmed", conditions=text_is(*CONFIRM)),
        T("message", "reminding", "cancelled", conditions=text_is(*CANCEL)),
        T("message", "reminding", "rescheduling", conditions=text_is(*RESCHEDULE)),
        T("invalid", "reminding", None, after="not_understood"),
        T("no_reply", "reminding", None, after="remind"),
        T("day_passed", "reminding", "no_show"),
        T("message", "rescheduling", "rescheduled", before="note_preference"),
    ]
    timeouts = {"reminding": [Timeout("2h", "no_reply"), Timeout("24h", "day_passed")]}

    def on_enter_reminding(self, turn: Turn) -> None:
        name = turn.data.get("name", "there")
        when = turn.data.get("when", "soon")
        turn.say(f"Hi {name}, this is a reminder of your appointment on {when}. {CHOICES}")

    def remind(self, turn: Turn) -> None:
        turn.say(f"We haven't heard back about {turn.data.get('when', 'your appointment')}. "
                 f"{CHOICES}")  # fmt: skip

    def not_understood(self, turn: Turn) -> None:
        turn.say(f"Sorry, I didn't get that. {CHOICES}")

    def on_enter_confirmed(self, turn: Turn) -> None:
        turn.data["outcome"] = "confirmed"
        turn.say(f"Thanks, you're confirmed for {turn.data.get('when', 'your appointment')}.")

    def on_enter_cancelled(self, turn: Turn) -> None:
        turn.data["outcome"] = "cancelled"
        turn.say("Your appointment is cancelled. Text us any time to book again.")

    def on_enter_rescheduling(self, turn: Turn) -> None:
        turn.say("No problem. Which day and time would suit you better?")

    def note_preference(self, turn: Turn) -> None:
        turn.data["outcome"] = "reschedule"
        turn.data["preference"] = turn.text
        turn.say(f"Thanks, we'll call you to confirm a new time ({turn.text}).")

    def on_enter_no_show(self, turn: Turn) -> None:
        turn.data["outcome"] = "no_show"
        staff = turn.data.get("notify")
        if staff:
            turn.send(f"No reply from {turn.caller} about {turn.data.get('when')}.", to=staff)
