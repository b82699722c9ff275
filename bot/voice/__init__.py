"""Voice above the engine: answering a call within Twilio's 15 seconds (a holding prompt while
a slow step finishes) and the call, recording and transcription status callbacks.

What flow authors use for calls lives lower down: the verbs in :mod:`bot.twiml.voice`, the
events in :mod:`bot.events.voice`, ``turn.gather`` and friends in
:mod:`bot.flow.voice_replies`, ``pressed``/``heard`` in :mod:`bot.flow.voice_conditions` and
``reprompt`` in :mod:`bot.flow.reprompt`.
"""

__all__: list[str] = []  # a package of modules; flow authors get what they need from ``bot``
