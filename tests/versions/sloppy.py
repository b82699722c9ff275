"""A flow that compiles but has a problem of each kind ``flows check`` warns about."""

from __future__ import annotations

from bot import Flow, T, Timeout, Turn

__all__ = ["Sloppy"]


def _is(text: str) -> object:
    return lambda self, turn: turn.text == text


class Sloppy(Flow):
    name = "sloppy"
    initial = "menu"
    states = ["menu", "stuck", "wait", "bye"]
    final_states = ["bye"]
    transitions = [
        T("message", "menu", "stuck", conditions=_is("1")),  # "3" falls through: no invalid
        T("message", "menu", "wait", conditions=_is("2")),
        T("message", "stuck", None),  # no way out, not final
        T("nudge", ["wait", "menu"], "bye"),  # no Timeout arms "nudge" in menu
        T("message", "wait", "bye"),
    ]
    timeouts = {"wait": [Timeout("1h", "nudge")]}

    def on_enter_menu(self, turn: Turn) -> None:
        turn.say("1 or 2?")
