"""Switchboard: stateful SMS, WhatsApp and voice conversations over Twilio.

Everything a flow author needs is importable from here: write a flow as a :class:`Flow`
subclass (transitions with :func:`T`, callbacks receiving a :class:`Turn`), route numbers to it
with a :class:`Router`, and serve it with :func:`create_app` (or run it on a runtime built by
``bot.runtime.build_runtime``).

The names are loaded lazily (PEP 562): ``from bot import Flow`` loads the flow layer only,
not the web server, the HTTP client or Twilio's REST client, so a flow's unit test stays
cheap. ``create_app`` loads Quart when it is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.clock import Clock, SystemClock
    from bot.compliance.config import (
        SPANISH,
        Compliance,
        Keywords,
        NumberPolicy,
        Template,
        Texts,
    )
    from bot.errors import (
        BadRequest,
        ConfigError,
        ConflictError,
        FlowDefinitionError,
        OptedOut,
        OutboundRefused,
        RestError,
        RoutingError,
        SchemaError,
        SignatureError,
        StoreError,
        SwitchboardError,
        WindowClosed,
    )
    from bot.events.messaging import InboundMessage
    from bot.events.model import Channel, Event, Location, Media
    from bot.events.voice import VoiceEvent
    from bot.flow.conditions import has_media, text_is, text_matches
    from bot.flow.definition import Flow, T, compile_flow
    from bot.flow.intents import Timeout
    from bot.flow.reprompt import reprompt
    from bot.flow.routing import Router
    from bot.flow.subflow import Outcome, Result
    from bot.flow.turn import Turn
    from bot.flow.verification import VerifyChannel, VerifyOutcome
    from bot.flow.verify_phone import VerifyPhone
    from bot.flow.versions import Lost, Migration
    from bot.flow.voice_conditions import (
        dial_answered,
        dial_status_is,
        has_recording,
        heard,
        pressed,
        said,
    )
    from bot.outbound.start import StartOutcome, start_conversation
    from bot.settings import Settings
    from bot.twiml.messaging import Message
    from bot.twiml.rules import UnlistedVoice
    from bot.twiml.voice import Pause, Play, Say
    from bot.web.app import create_app

# name -> the module that defines it; loaded on first access.
_EXPORTS = {
    "Clock": "bot.clock",
    "SystemClock": "bot.clock",
    "SPANISH": "bot.compliance.config",
    "Compliance": "bot.compliance.config",
    "Keywords": "bot.compliance.config",
    "NumberPolicy": "bot.compliance.config",
    "Template": "bot.compliance.config",
    "Texts": "bot.compliance.config",
    "BadRequest": "bot.errors",
    "ConfigError": "bot.errors",
    "ConflictError": "bot.errors",
    "FlowDefinitionError": "bot.errors",
    "OptedOut": "bot.errors",
    "OutboundRefused": "bot.errors",
    "RestError": "bot.errors",
    "RoutingError": "bot.errors",
    "SchemaError": "bot.errors",
    "SignatureError": "bot.errors",
    "StoreError": "bot.errors",
    "SwitchboardError": "bot.errors",
    "WindowClosed": "bot.errors",
    "InboundMessage": "bot.events.messaging",
    "Channel": "bot.events.model",
    "Event": "bot.events.model",
    "Location": "bot.events.model",
    "Media": "bot.events.model",
    "VoiceEvent": "bot.events.voice",
    "has_media": "bot.flow.conditions",
    "text_is": "bot.flow.conditions",
    "text_matches": "bot.flow.conditions",
    "Flow": "bot.flow.definition",
    "T": "bot.flow.definition",
    "compile_flow": "bot.flow.definition",
    "Timeout": "bot.flow.intents",
    "Lost": "bot.flow.versions",
    "Migration": "bot.flow.versions",
    "reprompt": "bot.flow.reprompt",
    "Router": "bot.flow.routing",
    "Turn": "bot.flow.turn",
    "Outcome": "bot.flow.subflow",
    "Result": "bot.flow.subflow",
    "VerifyChannel": "bot.flow.verification",
    "VerifyOutcome": "bot.flow.verification",
    "VerifyPhone": "bot.flow.verify_phone",
    "dial_answered": "bot.flow.voice_conditions",
    "dial_status_is": "bot.flow.voice_conditions",
    "has_recording": "bot.flow.voice_conditions",
    "heard": "bot.flow.voice_conditions",
    "pressed": "bot.flow.voice_conditions",
    "said": "bot.flow.voice_conditions",
    "StartOutcome": "bot.outbound.start",
    "start_conversation": "bot.outbound.start",
    "Settings": "bot.settings",
    "Message": "bot.twiml.messaging",
    "Pause": "bot.twiml.voice",
    "Play": "bot.twiml.voice",
    "Say": "bot.twiml.voice",
    "UnlistedVoice": "bot.twiml.rules",
    "create_app": "bot.web.app",
}

# Kept literal so type checkers and linters see the public names (a test pins it to _EXPORTS).
__all__ = [
    "SPANISH",
    "BadRequest",
    "Channel",
    "Clock",
    "Compliance",
    "ConfigError",
    "ConflictError",
    "Event",
    "Flow",
    "FlowDefinitionError",
    "InboundMessage",
    "Keywords",
    "Location",
    "Lost",
    "Media",
    "Message",
    "Migration",
    "NumberPolicy",
    "OptedOut",
    "OutboundRefused",
    "Outcome",
    "Pause",
    "Play",
    "RestError",
    "Result",
    "Router",
    "RoutingError",
    "Say",
    "SchemaError",
    "Settings",
    "SignatureError",
    "StartOutcome",
    "StoreError",
    "SwitchboardError",
    "SystemClock",
    "T",
    "Template",
    "Texts",
    "Timeout",
    "Turn",
    "UnlistedVoice",
    "VerifyChannel",
    "VerifyOutcome",
    "VerifyPhone",
    "VoiceEvent",
    "WindowClosed",
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
    "start_conversation",
    "text_is",
    "text_matches",
]


def __getattr__(name: str) -> Any:
    """Load an exported name from its module the first time it is asked for."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
