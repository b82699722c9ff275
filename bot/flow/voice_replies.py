"""Voice reply helpers, mixed into :class:`~bot.turn.Turn`: ``turn.gather(...)`` and friends.

Each helper appends a verb from :mod:`bot.voice.verbs`; the ones that wait for the caller
write an action URL back to our webhook with this step's number, so the answer comes back
as an event (``gather``/``no_input``, ``recording``, ``dial``, ``redirect``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.events.model import Channel
from bot.events.urls import action_url, status_url
from bot.events.voice import VoiceEvent
from bot.twiml import voice as verbs

if TYPE_CHECKING:
    from bot.events.model import Event
    from bot.twiml.messaging import Action

__all__ = ["VoiceReplies"]


class VoiceReplies:
    """``play``, ``pause``, ``gather``, ``record``, ``dial``, ``redirect``, ``hangup``,
    ``reject``. ``say`` lives on the turn itself (a ``<Say>`` on calls, a message otherwise).
    """

    __slots__ = ()

    if TYPE_CHECKING:
        event: Event
        actions: list[Action]
        step: int

    def _voice(self, verb: str) -> str:
        """The webhook URL answers come back to; ValueError on a turn that is not a call."""
        if self.event.channel is not Channel.VOICE:
            raise ValueError(f"{verb} is a voice verb; this turn is on {self.event.channel}")
        return self.event.webhook if isinstance(self.event, VoiceEvent) else ""

    def play(self, url: str, *, loop: int | None = None) -> None:
        """Play an audio file (``loop=0`` repeats it until the call moves on)."""
        self._voice("play")
        self.actions.append(verbs.Play(url, loop))

    def pause(self, length: int = 1) -> None:
        """Stay silent for ``length`` seconds."""
        self._voice("pause")
        self.actions.append(verbs.Pause(length))

    def gather(
        self,
        *prompts: str | verbs.Prompt,
        input: str = "dtmf",
        num_digits: int | None = None,
        finish_on_key: str | None = None,
        timeout: int | None = None,
        speech_timeout: str | int | None = None,
        hints: Sequence[str] = (),
        language: str | None = None,
    ) -> None:
        """Play ``prompts`` (text is said) and wait for keys, speech or both.

        The answer comes back as ``gather`` (``turn.voice.digits`` / ``.speech`` /
        ``.confidence``) or, after ``timeout`` seconds of silence, as ``no_input``.
        """
        webhook = self._voice("gather")
        url = action_url(webhook, self.step, "gather")
        self.actions.append(
            verbs.Gather(
                url,
                verbs.prompts_of(prompts),
                input,
                num_digits,
                finish_on_key,
                timeout,
                speech_timeout,
                tuple(hints),
                language,
            )
        )
        self.actions.append(verbs.Redirect(url))  # reached only if Twilio skips the action

    def record(
        self,
        *,
        max_length: int | None = None,
        finish_on_key: str | None = None,
        play_beep: bool | None = None,
        timeout: int | None = None,
        transcribe: bool = False,
    ) -> None:
        """Record a message; ``recording``, ``recording_status`` and (with ``transcribe``)
        ``transcription`` events follow."""
        webhook = self._voice("record")
        url = action_url(webhook, self.step, "record")
        self.actions.append(
            verbs.Record(
                url, status_url(webhook), max_length, finish_on_key, play_beep, timeout, transcribe
            )
        )
        self.actions.append(verbs.Redirect(url))  # nothing recorded: Twilio falls through

    def dial(
        self,
        number: str,
        *,
        caller_id: str | None = None,
        timeout: int | None = None,
        time_limit: int | None = None,
    ) -> None:
        """Connect the caller to ``number``; a ``dial`` event reports how it ended."""
        webhook = self._voice("dial")
        url = action_url(webhook, self.step, "dial")
        self.actions.append(verbs.Dial(number, url, caller_id, timeout, time_limit))

    def redirect(self, url: str | None = None) -> None:
        """Continue with TwiML from ``url``; by default our webhook (a ``redirect`` event)."""
        webhook = self._voice("redirect")
        self.actions.append(verbs.Redirect(url or action_url(webhook, self.step, "redirect")))

    def hangup(self) -> None:
        """End the call."""
        self._voice("hangup")
        self.actions.append(verbs.Hangup())

    def reject(self, reason: str = "rejected") -> None:
        """Refuse the call unanswered (``busy`` or ``rejected``); only as the first verb."""
        self._voice("reject")
        self.actions.append(verbs.Reject(reason))
