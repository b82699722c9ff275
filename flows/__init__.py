"""The example flows that ship with the app, and ``build``, the app factory for them.

Numbers: messages to any number get the support menu; calls to any number get the IVR,
except calls to :data:`SPEECH_MENU_NUMBER`, which get the speech menu; messages to
:data:`HELPDESK_NUMBER` get the help desk that hands off to a person; messages and calls to
:data:`SIGNUP_NUMBER` get the sign-up that verifies the number (``VerifyPhone``). Appointment
reminders are started by us (``switchboard send appointments ...``); the person's replies
continue that conversation, whatever the number routes to.
"""

from __future__ import annotations

from quart import Quart

from bot import Channel, Clock, Flow, Router, Settings
from bot.runtime import Runtime, build_runtime
from bot.web import web_app
from flows.appointments import AppointmentFlow
from flows.helpdesk import HELPDESK_NUMBER, HelpdeskFlow
from flows.ivr import IvrFlow
from flows.signup import SignupFlow
from flows.speech_menu import SpeechMenuFlow
from flows.support import SupportFlow
from storage.base import Store

__all__ = [
    "EXAMPLE_FLOWS",
    "HELPDESK_NUMBER",
    "SIGNUP_NUMBER",
    "SPEECH_MENU_NUMBER",
    "AppointmentFlow",
    "HelpdeskFlow",
    "IvrFlow",
    "SignupFlow",
    "SpeechMenuFlow",
    "SupportFlow",
    "build",
    "example_router",
    "runtime",
]

EXAMPLE_FLOWS: list[type[Flow]] = [
    SupportFlow, IvrFlow, SpeechMenuFlow, AppointmentFlow, HelpdeskFlow, SignupFlow,
]  # fmt: skip
SPEECH_MENU_NUMBER = "+15550100200"
SIGNUP_NUMBER = "+15550100400"  # sign-up with phone verification, by message or call


def example_router() -> Router:
    """Messages → the support menu; calls → the IVR, or the speech menu on its own number."""
    router = Router(default="support")
    router.set_default("ivr", Channel.VOICE)
    router.add(SPEECH_MENU_NUMBER, "speech_menu", Channel.VOICE)
    router.add(HELPDESK_NUMBER, "helpdesk", Channel.SMS)
    router.add(HELPDESK_NUMBER, "helpdesk", Channel.WHATSAPP)
    router.add(SIGNUP_NUMBER, "verified_signup")  # every channel
    return router


def runtime(
    settings: Settings, *, store: Store | None = None, clock: Clock | None = None
) -> Runtime:
    """The example flows' runtime for ``settings`` (``switchboard send`` uses it)."""
    return build_runtime(EXAMPLE_FLOWS, example_router(), settings, store=store, clock=clock)


def build(settings: Settings, *, store: Store | None = None, clock: Clock | None = None) -> Quart:
    """The example app for ``settings`` (tests pass their own store and clock)."""
    return web_app(runtime(settings, store=store, clock=clock))
