"""Every error Switchboard raises on purpose derives from :class:`SwitchboardError`.

The tree::

    SwitchboardError
    ├── ConfigError            settings are missing or contradict each other
    ├── FlowDefinitionError    a flow class is wrong; raised when it is registered
    ├── RoutingError           no flow answers for this number and channel
    ├── OutboundRefused        the outbound gate refused a message (``reason`` says why)
    │   ├── OptedOut           the person opted out of messages from this number/service
    │   └── WindowClosed       WhatsApp free-form outside the 24 h window, no template fits
    ├── BadRequest             the webhook request is malformed (answered with a 4xx)
    │   └── SignatureError     X-Twilio-Signature is missing or wrong (answered with 403)
    ├── RestError              Twilio's REST API refused a request or could not be reached
    └── StoreError             the store failed or refused a write
        ├── ConflictError      another writer advanced the conversation first (retried)
        ├── SchemaError        the database schema is not the one this code expects
        └── NewerFlowVersion   the conversation runs a newer version of its flow than this
                               process (a rolling deploy): refused with 503, Twilio retries

``SwitchboardError``, ``ConfigError`` and the ``StoreError`` family are defined in
``storage.errors`` (the bottom layer, which imports nothing from ``bot``) and re-exported
here. Lower-level errors are translated with ``raise ... from exc``; messages say what to do.
"""

from __future__ import annotations

try:
    from storage.errors import (
        ConfigError,
        ConflictError,
        SchemaError,
        StoreError,
        SwitchboardError,
    )
except ImportError as exc:  # a project's own top-level `storage` package shadows ours
    import storage as _shadow

    raise ImportError(
        f"the module 'storage' imported from {getattr(_shadow, '__file__', '?')} is not "
        "Switchboard's: a package named storage (or bot, flows) in your project shadows "
        "Switchboard's own; rename yours (switchboard new never uses these names)"
    ) from exc

__all__ = [
    "BadRequest",
    "ConfigError",
    "ConflictError",
    "FlowDefinitionError",
    "NewerFlowVersion",
    "OptedOut",
    "OutboundRefused",
    "RestError",
    "RoutingError",
    "SchemaError",
    "SignatureError",
    "StoreError",
    "SwitchboardError",
    "WindowClosed",
]


class FlowDefinitionError(SwitchboardError):
    """A flow class is malformed; the message names the flow and the item."""


class RoutingError(SwitchboardError):
    """No flow is configured for the number and channel of a request."""


class OutboundRefused(SwitchboardError):
    """The outbound gate (``bot.gate``) refused a message; ``reason`` is a short code."""

    reason = "refused"


class OptedOut(OutboundRefused):
    """The person opted out of messages from this number or messaging service."""

    reason = "opted_out"


class WindowClosed(OutboundRefused):
    """A free-form WhatsApp message outside the 24-hour window, and no template for its kind.

    Configure an approved template for the message's kind (``Compliance`` templates), send a
    ``content_sid`` yourself, or wait until the person writes again.
    """

    reason = "window_closed"


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


class RestError(SwitchboardError):
    """Twilio's REST API refused a request (``code``, ``status``) or gave no answer.

    ``code`` is Twilio's error code when it sent one; ``retry_after`` the seconds its
    ``Retry-After`` header asked for; ``timeout`` whether the request timed out, in which
    case Twilio may or may not have acted on it; ``unreached`` whether the connection was
    never made (refused, no route, no DNS), so Twilio certainly did not act on it.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        timeout: bool = False,
        unreached: bool = False,
    ) -> None:
        super().__init__(message)
        self.unreached = unreached
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.timeout = timeout


class NewerFlowVersion(StoreError):
    """The conversation was stepped by a newer version of its flow than this process runs.

    Raised during a rolling deploy, while old and new code serve side by side: the old code
    must not step it backwards. It is a :class:`StoreError`, so the webhook answers 503 and
    Twilio's retry lands (sooner or later) on an instance running the new code.
    """
