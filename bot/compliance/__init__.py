"""Compliance: its configuration, the consent ledger's keywords and writers, WhatsApp's
24-hour window, and the outbound gate (the gate calls consent and window, never the reverse)."""

from __future__ import annotations

from bot.compliance.config import (
    SPANISH,
    Compliance,
    Keywords,
    NumberPolicy,
    Template,
    Texts,
)
from bot.compliance.gate import Admission, Gate, Outgoing

__all__ = [
    "SPANISH",
    "Admission",
    "Compliance",
    "Gate",
    "Keywords",
    "NumberPolicy",
    "Outgoing",
    "Template",
    "Texts",
]
