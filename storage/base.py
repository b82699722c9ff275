"""The whole store interface under its historical name (see :mod:`storage.protocols`)."""

from __future__ import annotations

from storage.protocols import Store

__all__ = ["Store"]
