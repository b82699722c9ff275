"""Switchboard: stateful SMS, WhatsApp and voice conversations over Twilio.

Write a flow as a :class:`Flow` subclass, route numbers to it with a :class:`Router`, and
serve it with :func:`create_app`.
"""

from __future__ import annotations

from bot.actions import Action, Message
from bot.clock import Clock, SystemClock
from bot.conditions import has_media, text_is, text_matches
from bot.engine import Engine
from bot.errors import (
    BadRequest,
    ConfigError,
    ConflictError,
    FlowDefinitionError,
    RoutingError,
    SchemaError,
    SignatureError,
    StoreError,
    SwitchboardError,
)
from bot.events import Channel, Event, InboundMessage, Location, Media
from bot.flow import CompiledFlow, Flow, T, compile_flow
from bot.routing import ConversationKey, Router
from bot.settings import Settings
from bot.turn import Turn
from bot.voice.conditions import (
    dial_answered,
    dial_status_is,
    has_recording,
    heard,
    pressed,
    said,
)
from bot.voice.events import VoiceEvent
from bot.voice.reprompt import reprompt
from bot.web import create_app

__all__ = [
    "Action",
    "BadRequest",
    "Channel",
    "Clock",
    "CompiledFlow",
    "ConfigError",
    "ConflictError",
    "ConversationKey",
    "Engine",
    "Event",
    "Flow",
    "FlowDefinitionError",
    "InboundMessage",
    "Location",
    "Media",
    "Message",
    "Router",
    "RoutingError",
    "SchemaError",
    "Settings",
    "SignatureError",
    "StoreError",
    "SwitchboardError",
    "SystemClock",
    "T",
    "Turn",
    "VoiceEvent",
    "compile_flow",
    "create_app",
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
