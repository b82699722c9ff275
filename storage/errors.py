"""The errors the store raises, and the root of every error Switchboard raises on purpose.

They live here, in the bottom layer, so that ``storage`` imports nothing from ``bot``;
``bot.errors`` re-exports them beside the rest of the tree::

    SwitchboardError
    ├── ConfigError            settings are missing or contradict each other
    └── StoreError             the store failed or refused a write
        ├── ConflictError      another writer advanced the conversation first (retried)
        └── SchemaError        the database schema is not the one this code expects
"""

from __future__ import annotations

__all__ = ["ConfigError", "ConflictError", "SchemaError", "StoreError", "SwitchboardError"]


class SwitchboardError(Exception):
    """Root of every error Switchboard raises on purpose."""


class ConfigError(SwitchboardError):
    """Settings are missing or contradict each other."""


class StoreError(SwitchboardError):
    """The store failed or refused a write."""


class ConflictError(StoreError):
    """A conversation's version moved on between load and save."""


class SchemaError(StoreError):
    """The database schema is older or newer than this code expects."""
