"""Outbound messaging: the durable outbox, its sender, rate limits, retries and timers."""
