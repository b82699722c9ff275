"""What an operator's request can fail with; each carries the HTTP status the API answers.

::

    SwitchboardError
    └── OperatorError          an operator's request cannot be done (``status`` says how)
        ├── NotFound           no such conversation, timer or outbox message (404)
        ├── Invalid            the request is wrong: an unknown state, data not JSON (422)
        ├── Stale              it changed since the operator looked, or is in flight (409)
        └── Refused            the outbound gate refused an operator's message (422)
"""

from __future__ import annotations

from bot.errors import SwitchboardError

__all__ = ["Invalid", "NotFound", "OperatorError", "Refused", "Stale"]


class OperatorError(SwitchboardError):
    """An operator's request that cannot be done; the message says why, for people."""

    status = 400


class NotFound(OperatorError):
    status = 404


class Invalid(OperatorError):
    status = 422


class Stale(OperatorError):
    status = 409


class Refused(OperatorError):
    """The outbound gate refused an operator's message (opted out, WhatsApp window closed);
    ``reason`` says which (``bot.compliance.gate.Reason``)."""

    status = 422

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
