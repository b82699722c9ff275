"""Twilio's documented rules for TwiML attribute values and for which verbs each channel takes.

Checked when a verb is built (:mod:`bot.twiml.voice`) and when a turn's answer is complete
(:func:`check_answer`), so a flow that breaks them fails its step with an error the engine
logs with the flow and the state, instead of Twilio failing the call or message later.

Voices: ``man``, ``woman``, ``alice``, Amazon Polly (``Polly.Joanna``, with ``-Neural``,
``-Generative`` or ``-LongForm``) and Google (``Google.en-GB-Standard-A``). Twilio adds
voices from time to time: pass a voice this list does not know yet as
``UnlistedVoice("Polly.Newname")``, which says you checked it yourself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.twiml.render import Node

__all__ = [
    "MESSAGING_VERBS",
    "POLLY_VOICES",
    "VOICE_VERBS",
    "TwimlError",
    "UnlistedVoice",
    "check_answer",
    "check_language",
    "check_voice",
]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


class TwimlError(ValueError):
    """A TwiML verb or attribute Twilio would reject; the message names it and says why."""


class UnlistedVoice(str):
    """A ``<Say>`` voice name passed through unchecked (one newer than :data:`POLLY_VOICES`)."""

    __slots__ = ()


# https://www.twilio.com/docs/voice/twiml/say/text-speech (Amazon Polly voices Twilio offers)
POLLY_VOICES = _names(
    """Aditi Adriano Amy Andres Aria Arlet Arthur Astrid Ayanda Bianca Brian Burcu Camila Carla
    Carmen Celine Chantal Conchita Cristiano Daniel Danielle Dora Elin Emma Enrique Ewa Filiz
    Gabrielle Geraint Giorgio Gregory Gwyneth Hala Hannah Hans Hiujin Ida Ines Isabelle Ivy Jacek
    Jan Jitka Joanna Joey Justin Kajal Karl Kazuha Kendra Kevin Kimberly Laura Lea Liam Lisa Liv
    Lotte Lucia Lupe Mads Maja Marlene Mathieu Matthew Maxim Mia Miguel Mizuki Naja Niamh Nicole
    Ola Olivia Pedro Penelope Raveena Remi Ricardo Ruben Russell Ruth Sabrina Salli Seoyeon Sergio
    Sofie Stephen Suvi Takumi Tatyana Thiago Tomoko Vicki Vitoria Zayd Zeina Zhiyu"""
)
_BASIC_VOICES = frozenset({"man", "woman", "alice"})
_POLLY = re.compile(r"Polly\.([A-Z][a-z]+)(-Neural|-Generative|-LongForm)?")
_GOOGLE = re.compile(
    r"Google\.[a-z]{2,3}-[A-Z]{2}-"
    r"(Standard|Wavenet|Neural2|News|Studio|Polyglot|Journey|Casual|Chirp-HD|Chirp3-HD)-[A-Za-z]+"
)
# BCP-47 as Twilio uses it: language, optional script, optional region, optional variants.
_BCP47 = re.compile(
    r"[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?"
    r"(-([a-zA-Z0-9]{5,8}|[0-9][a-zA-Z0-9]{3}))*"
)

# Verbs Twilio executes in a call's answer, and in a message's.
VOICE_VERBS = _names(
    "Say Play Pause Gather Record Dial Redirect Hangup Reject Enqueue Leave Connect Pay Refer "
    "Start Stop Prompt"
)
MESSAGING_VERBS = frozenset({"Message", "Redirect"})


def check_voice(voice: str | None) -> None:
    """:class:`TwimlError` unless ``voice`` is one Twilio offers (or an :class:`UnlistedVoice`)."""
    if voice is None or isinstance(voice, UnlistedVoice) or voice in _BASIC_VOICES:
        return
    polly = _POLLY.fullmatch(voice)
    if (polly and polly.group(1) in POLLY_VOICES) or _GOOGLE.fullmatch(voice):
        return
    raise TwimlError(
        f"unknown <Say> voice {voice!r}: use man, woman, Polly.<Name>[-Neural] or "
        "Google.<lang>-<type>-<variant>, or UnlistedVoice(...) for one newer than this list"
    )


def check_language(verb: str, language: str | None) -> None:
    """:class:`TwimlError` unless ``language`` is a BCP-47 tag (``en-US``, ``cmn-Hans-CN``)."""
    if language is not None and not _BCP47.fullmatch(language):
        raise TwimlError(f"{verb} language {language!r} is not a BCP-47 tag like en-US")


def check_answer(nodes: Iterable[Node], *, voice: bool) -> None:
    """:class:`TwimlError` if a verb is not one the channel's answer may carry: ``<Message>``
    is not a call's, ``<Say>`` (and every voice verb) not a message's."""
    allowed, what = (VOICE_VERBS, "a call's") if voice else (MESSAGING_VERBS, "a message's")
    for node in nodes:
        if node.tag not in allowed:
            raise TwimlError(f"<{node.tag}> cannot be part of {what} answer")
