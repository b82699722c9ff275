"""Outbound messaging: the durable outbox's worker, the ``Sender`` it sends through (Twilio's
REST API), rate limits, retries, delivery statuses, timers and starting conversations."""

__all__: list[str] = []  # a package of modules; flow authors get what they need from ``bot``
