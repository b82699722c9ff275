"""The :class:`Turn`: what a flow callback receives for one inbound event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.events.keys import ConversationKey
from bot.events.messaging import InboundMessage
from bot.events.model import Channel, Event
from bot.events.urls import action_url
from bot.events.voice import VoiceEvent
from bot.flow.handoff import DEFAULT_HOLDING, KEY, TIMEOUT_TRIGGER, Handoff
from bot.flow.intents import ScheduleIntent, SendIntent, parse_delay
from bot.flow.subflow import CallIntent, Result, child_name
from bot.flow.verification import Verifier
from bot.flow.voice_replies import VoiceReplies
from bot.twiml.messaging import Action, Message
from bot.twiml.rules import check_answer
from bot.twiml.transfer import DialClient, Enqueue
from bot.twiml.voice import Say
from storage.records import Conversation, Purpose

__all__ = ["Turn"]


@dataclass(slots=True)
class Turn(VoiceReplies):
    """One step of one conversation.

    ``data`` is the conversation's JSON-serialisable dict: change it in place and it is saved
    with the new state, or thrown away if a callback raises. Reply helpers append
    :mod:`actions <bot.actions>` that are rendered as the webhook's TwiML answer; voice
    verbs (``gather``, ``play``, ``record``, ``dial``, ...) come from
    :class:`~bot.voice.replies.VoiceReplies`.

    ``step`` is this step's number in its conversation (the version it commits); ``history``
    holds the caller's most recent earlier conversations when a call starts.
    """

    event: Event
    key: ConversationKey
    flow: str
    state: str
    data: dict[str, Any]
    clock: Clock
    actions: list[Action] = field(default_factory=list)
    step: int = 0
    history: Sequence[Conversation] = ()
    sends: list[SendIntent] = field(default_factory=list)
    timers: list[ScheduleIntent] = field(default_factory=list)
    called: CallIntent | None = None  # turn.call(...): bot.flow.subflow
    result: Result | None = None  # a finished subflow's result, in its caller's step
    verify: Verifier | None = None  # phone verification (Twilio Verify), when configured
    masked: bool = False  # the inbound text is a secret (a code): logged masked

    @property
    def now(self) -> datetime:
        """The current time (the fake clock's in tests)."""
        return self.clock.now()

    @property
    def channel(self) -> Channel:
        return self.event.channel

    @property
    def caller(self) -> str:
        """The person's address (``+1…`` or ``whatsapp:+1…``)."""
        return self.event.from_ or self.key.their

    @property
    def voice(self) -> VoiceEvent:
        """This turn's call event, typed: ``turn.voice.digits``, ``.speech``, ``.confidence``,
        ``.dial_status``, ``.recording_url``, ``.recording_duration``, ``.transcription_text``…

        :class:`TypeError` on a turn that is not about a call (a message, a timer)."""
        event = self.event
        if not isinstance(event, VoiceEvent):
            raise TypeError(f"turn.voice is for call events; this turn is {event.kind!r}")
        return event

    @property
    def message(self) -> InboundMessage:
        """This turn's inbound message, typed: ``turn.message.media``, ``.profile_name``,
        ``.location``, ``.button_payload``…

        :class:`TypeError` on a turn that is not an inbound message (a call, a timer)."""
        event = self.event
        if not isinstance(event, InboundMessage):
            raise TypeError(f"turn.message is for inbound messages; this turn is {event.kind!r}")
        return event

    @property
    def text(self) -> str:
        """The inbound message's text, stripped; ``""`` for events that carry none."""
        return self.event.text

    def say(
        self,
        text: str,
        *,
        media: Sequence[str] = (),
        voice: str | None = None,
        language: str | None = None,
        loop: int | None = None,
    ) -> None:
        """Answer the person: a message (with optional media URLs) on messaging channels,
        ``<Say>`` on a call (``voice``, ``language`` and ``loop`` apply to calls only)."""
        if self.channel is Channel.VOICE:
            if media:
                raise ValueError("a call cannot carry media; use turn.play(url)")
            self.actions.append(Say(text, voice, language, loop))
            return
        if len(media) > 10:
            raise ValueError("a message carries at most 10 media URLs")
        self.actions.append(Message(text, tuple(media)))

    def reply(self, action: Action) -> None:
        """Append any reply action (a TwiML verb) as it is, if this channel's answer takes it."""
        check_answer([action.node()], voice=self.channel is Channel.VOICE)
        self.actions.append(action)

    def send(
        self,
        text: str = "",
        *,
        to: str | None = None,
        from_: str | None = None,
        media: Sequence[str] = (),
        content_sid: str | None = None,
        content_variables: Mapping[str, str] | None = None,
        template: str | None = None,
        purpose: Purpose | str = Purpose.SEND,
    ) -> None:
        """Send a message through the outbox (REST API), to the person or to ``to``.

        It is stored with this turn and sent by the outbox worker after the turn commits,
        through the consent/window gate, rate limits and retries; nothing is sent if the
        turn is rolled back. ``from_`` defaults to our number of this conversation.
        ``purpose="campaign"`` or ``"reminder"`` marks a non-transactional message: held
        outside the recipient's quiet hours and sent at most once (docs/outbound.md).
        """
        try:
            why = Purpose(purpose)
        except ValueError:
            known = ", ".join(p.value for p in Purpose)
            raise ValueError(f"purpose must be one of {known}, got {purpose!r}") from None
        if why is Purpose.CONSENT:  # the gate lets those reach an opted-out person
            raise ValueError("purpose 'consent' is the framework's own answer to a keyword")
        if len(media) > 10:
            raise ValueError("a message carries at most 10 media URLs")
        if not (text or media or content_sid):
            raise ValueError("a message needs text, media or a content_sid")
        self.sends.append(
            SendIntent(text, to, from_, tuple(media), content_sid, content_variables, template, why)
        )

    def schedule(
        self,
        trigger: str,
        after: timedelta | float | str,
        *,
        name: str | None = None,
        keep: bool = False,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """Fire ``trigger`` in this conversation ``after`` from now (a stored, durable timer).

        The timer is cancelled when the conversation leaves the state this turn ends in,
        unless ``keep``. Scheduling the same ``name`` (default: the trigger) again replaces it.
        """
        if not trigger.isidentifier():
            raise ValueError(f"trigger {trigger!r} must be a name")
        intent = ScheduleIntent(trigger, parse_delay(after), name or trigger, keep, payload or {})
        self.timers.append(intent)

    def handoff(
        self,
        reason: str,
        *,
        resume: str | None = None,
        holding: str | None = DEFAULT_HOLDING,
        after: timedelta | float | str | None = None,
        timeout_state: str | None = None,
        number: str | None = None,
        client: str | None = None,
        queue: str | None = None,
    ) -> None:
        """Put the conversation in the hands of people (docs/flows.md, "Hand-off").

        From the end of this step, inbound messages are stored for operators instead of
        stepping the flow (consent keywords still apply first); ``holding`` is said now
        (``None``: nothing). An operator gives it back at ``resume`` (default: the state
        this step ends in). With ``after``, nobody claiming it by then sends it back to
        ``timeout_state`` (default ``resume``) with ``data["handoff_outcome"] = "timeout"``.
        On a call it is a transfer: ``holding`` is said and the call dialled to ``number`` or
        a Voice SDK ``client`` (the ``dial`` event, ``turn.voice.dial_status``, brings the
        outcome back), or put in ``queue`` (the ``queue`` event, ``turn.voice.queue_result``).
        """
        if self.channel is Channel.VOICE:
            targets = [
                t for t in (number, client and f"client:{client}", queue and f"queue:{queue}") if t
            ]
            if len(targets) != 1:
                raise ValueError(
                    "a call is handed off by transfer: pass number=, client= or queue="
                )
            if holding:
                self.say(holding)
            self.data["handoff"] = {"reason": reason, "to": targets[0]}
            if number:
                self.dial(number)
            elif client:
                url = action_url(self._voice("dial"), self.step, "dial")
                self.actions.append(DialClient(client, url))
            else:
                url = action_url(self._voice("enqueue"), self.step, "enqueue")
                self.actions.append(Enqueue(queue or "", url))
            return
        delay = parse_delay(after) if after is not None else None
        record = Handoff.new(
            reason, resume or "", self.now, after=delay, timeout_state=timeout_state
        )
        self.data[KEY] = record.to_json()
        if holding:
            self.say(holding)
        if delay is not None:
            payload = {"handoff": record.id}
            self.schedule(TIMEOUT_TRIGGER, delay, name="handoff", payload=payload)

    def call(self, child: Any, /, **args: Any) -> None:
        """Start subflow ``child`` (a flow class or name) with ``args`` as its data.

        The state this step ends in must declare ``child`` in the flow's ``subflows``;
        the caller continues with ``completed``/``failed``/``expired`` and ``turn.result``.
        """
        self.called = CallIntent(child_name(child), dict(args))
