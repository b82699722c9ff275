"""Example: an SMS/WhatsApp support menu.

menu ─1→ question ─(any text)→ menu          (the question is filed as a ticket)
menu ─2→ order_lookup ─(order no.)→ menu     (the status is looked up)
menu ─3→ menu                                (opening hours)
"menu" or "0" from anywhere → menu; anything unexpected is reprompted.
"""

from __future__ import annotations

from bot import Flow, T, Turn, text_is, text_matches

MENU = "Hi! Reply 1 to ask a question, 2 to check an order, 3 for opening hours."
ORDER_NUMBER = r"[A-Z]\d{4}"

# A stand-in for the shop's order system.
ORDERS = {"A1001": "shipped on Monday", "A1002": "being packed", "B2001": "delivered"}


__all__ = ["SupportFlow"]


class SupportFlow(Flow):
    name = "support"
    initial = "menu"
    states = ["menu", "question", "order_lookup"]
    transitions = [
        T("message", "*", "menu", conditions=text_is("menu", "0")),
        T("message", "menu", "question", conditions=text_is("1")),
        T("message", "menu", "order_lookup", conditions=text_is("2")),
        T("message", "menu", None, conditions=text_is("3"), after="opening_hours"),
        T("message", "question", "menu", before="file_question"),
        T(
            "message",
            "order_lookup",
            "menu",
            conditions=text_matches(ORDER_NUMBER),
            before="lookup",
        ),
        T("invalid", "menu", "=", before="not_understood"),
        T("invalid", "order_lookup", None, after="bad_order_number"),
    ]

    def on_enter_menu(self, turn: Turn) -> None:
        turn.say(MENU)

    def on_enter_question(self, turn: Turn) -> None:
        turn.say("What's your question? Write it in one message.")

    def on_enter_order_lookup(self, turn: Turn) -> None:
        turn.say("What's your order number? It looks like A1234.")

    def file_question(self, turn: Turn) -> None:
        tickets = turn.data.setdefault("tickets", [])
        tickets.append(turn.text)
        turn.say(f"Thanks! Your question is ticket #{len(tickets)}; we'll text you back.")

    def lookup(self, turn: Turn) -> None:
        number = turn.text.upper()
        status = ORDERS.get(number)
        turn.data["last_order"] = number
        if status is None:
            turn.say(f"I can't find order {number}. Check the number on your receipt.")
        else:
            turn.say(f"Order {number} is {status}.")

    def opening_hours(self, turn: Turn) -> None:
        turn.say("We're open Monday to Friday, 9am to 6pm.")

    def not_understood(self, turn: Turn) -> None:
        turn.say("Sorry, I didn't get that.")

    def bad_order_number(self, turn: Turn) -> None:
        turn.say(
            "That doesn't look like an order number (like A1234). Try again, or 0 for the menu."
        )
