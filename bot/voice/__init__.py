"""Voice: calls, ``<Gather>`` (keys and speech), voicemail, dialling and call status as flows.

The pieces: :mod:`~bot.voice.verbs` (TwiML voice verbs), :mod:`~bot.voice.events` (what
Twilio posts), :mod:`~bot.voice.replies` (``turn.gather`` and friends),
:mod:`~bot.voice.conditions` (``pressed``, ``heard``, ...), :mod:`~bot.voice.reprompt`
(no input / invalid policy), :mod:`~bot.voice.answer` (answer in time with a holding
prompt) and :mod:`~bot.voice.callbacks` (call, recording and transcription status).

This package imports nothing heavy at import time, so core modules can use its verbs.
"""

__all__: list[str] = []  # the flow-authoring names are exported by ``bot``
