"""Switchboard: stateful SMS, WhatsApp and voice conversations over Twilio.

Write a flow as a :class:`Flow` subclass, route numbers to it with a :class:`Router`, and
serve it with :func:`create_app`.
"""

from __future__ import annotations

from bot.clock import Clock, SystemClock
from bot.engine.engine import Engine
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
from bot.events.keys import ConversationKey
from bot.events.messaging import InboundMessage
from bot.events.model import Channel, Event, Location, Media
from bot.events.voice import VoiceEvent
from bot.flow.conditions import has_media, text_is, text_matches
from bot.flow.definition import CompiledFlow, Flow, T, compile_flow
from bot.flow.reprompt import reprompt
from bot.flow.routing import Router
from bot.flow.turn import Turn
from bot.flow.voice_conditions import (
    dial_answered,
    dial_status_is,
    has_recording,
    heard,
    pressed,
    said,
)
from bot.settings import Settings
from bot.twiml.messaging import Action, Message
from bot.web.app import create_app

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
