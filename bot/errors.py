"""Every error Switchboard raises on purpose derives from :class:`SwitchboardError`.

The tree::

    SwitchboardError
    ├── ConfigError            settings are missing or contradict each other
    ├── FlowDefinitionError    a flow class is wrong; raised when it is registered
    ├── RoutingError           no flow answers for this number and channel
    ├── BadRequest             the webhook request is malformed (answered with a 4xx)
    │   └── SignatureError     X-Twilio-Signature is missing or wrong (answered with 403)
    └── StoreError             the store failed or refused a write
        ├── ConflictError      another writer advanced the conversation first (retried)
        └── SchemaError        the database schema is not the one this code expects

Lower-level errors are translated with ``raise ... from exc``; messages say what to do.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "ConfigError",
    "ConflictError",
    "FlowDefinitionError",
    "RoutingError",
    "SchemaError",
    "SignatureError",
    "StoreError",
    "SwitchboardError",
]


class SwitchboardError(Exception):
    """Root of every error Switchboard raises on purpose."""


class ConfigError(SwitchboardError):
    """Settings are missing or contradict each other."""


class FlowDefinitionError(SwitchboardError):
    """A flow class is malformed; the message names the flow and the item."""


class RoutingError(SwitchboardError):
    """No flow is configured for the number and channel of a request."""


class BadRequest(SwitchboardError):
    """A webhook request cannot be understood; ``status`` is the HTTP status to answer."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class SignatureError(BadRequest):
    """The request's X-Twilio-Signature does not match its URL and parameters."""

    status = 403


class StoreError(SwitchboardError):
    """The store failed or refused a write."""


class ConflictError(StoreError):
    """A conversation's version moved on between load and save."""


class SchemaError(StoreError):
    """The database schema is older or newer than this code expects."""
