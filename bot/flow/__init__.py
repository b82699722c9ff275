"""What flow authors write with: ``Flow``, ``T``, the ``Turn``, conditions, reprompt,
timeouts and sends, routing numbers to flows, diagrams of the same definition, and versions
(``Migration``, ``Lost``) for changing a live flow."""

from __future__ import annotations

from bot.flow.conditions import has_media, text_is, text_matches
from bot.flow.definition import CompiledFlow, Flow, T, compile_flow
from bot.flow.intents import Timeout
from bot.flow.reprompt import reprompt
from bot.flow.routing import Router
from bot.flow.turn import Turn
from bot.flow.versions import Lost, Migration
from bot.flow.voice_conditions import (
    dial_answered,
    dial_status_is,
    has_recording,
    heard,
    pressed,
    said,
)

__all__ = [
    "CompiledFlow",
    "Flow",
    "Lost",
    "Migration",
    "Router",
    "T",
    "Timeout",
    "Turn",
    "compile_flow",
    "dial_answered",
    "dial_status_is",
    "has_media",
    "has_recording",
    "heard",
    "pressed",
    "reprompt",
    "said",
    "text_is",
    "text_matches",
]
