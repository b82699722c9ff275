"""Typed events built from what Twilio posts (messaging, voice, status) and raised inside
Switchboard (timers, conversations we start), and the keys of the conversations they reach."""

from __future__ import annotations

from bot.events.internal import Started, TimerFired
from bot.events.keys import ConversationKey, key_for
from bot.events.messaging import InboundMessage, parse_message
from bot.events.model import (
    Channel,
    Event,
    InternalEvent,
    Location,
    Media,
    Params,
    channel_of,
    strip_channel,
)
from bot.events.parse import parse_inbound
from bot.events.voice import VoiceEvent, parse_voice, parse_voice_status

__all__ = [
    "Channel",
    "ConversationKey",
    "Event",
    "InboundMessage",
    "InternalEvent",
    "Location",
    "Media",
    "Params",
    "Started",
    "TimerFired",
    "VoiceEvent",
    "channel_of",
    "key_for",
    "parse_inbound",
    "parse_message",
    "parse_voice",
    "parse_voice_status",
    "strip_channel",
]
