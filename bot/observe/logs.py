"""Log formats: readable text for development, one JSON object per line for machines.

Both mask phone numbers (``+14155550123`` → ``+*********23``) unless masking is turned off
(``SWITCHBOARD_LOG_MASK=0``). JSON lines have stable field names: ``ts``, ``level``,
``logger``, ``message``, and when the record carries them ``conversation``, ``flow``,
``state_before``, ``state_after``, ``sid``, ``kind``, ``duration_ms``, ``outcome``;
``exception`` holds a traceback.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.errors import ConfigError
from bot.observe.config import ObserveSettings

__all__ = [
    "FIELDS", "JsonFormatter", "TextFormatter", "configure_logging", "mask_phones", "with_format",
]  # fmt: skip

FIELDS = (
    "conversation", "flow", "state_before", "state_after", "sid", "kind", "duration_ms",
    "outcome",
)  # fmt: skip
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_PHONE = re.compile(r"\+\d{5,15}")


def mask_phones(text: str) -> str:
    """``text`` with every E.164 number masked but its last two digits."""
    return _PHONE.sub(lambda m: "+" + "*" * (len(m.group()) - 3) + m.group()[-2:], text)


class TextFormatter(logging.Formatter):
    """The development format, masking phone numbers when ``mask``."""

    def __init__(self, fmt: str = TEXT_FORMAT, mask: bool = True) -> None:
        super().__init__(fmt)
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return mask_phones(text) if self.mask else text


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring for the fields)."""

    def __init__(self, mask: bool = True) -> None:
        super().__init__()
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        text = json.dumps(entry, ensure_ascii=False, default=str)
        return mask_phones(text) if self.mask else text


def with_format(config: Mapping[str, Any], settings: ObserveSettings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict ``config`` whose formatters all use the format
    and masking ``settings`` ask for."""
    factory = JsonFormatter if settings.log_format == "json" else TextFormatter
    formatters = {
        name: {"()": factory, "mask": settings.log_mask} for name in config.get("formatters", {})
    }
    return {**config, "formatters": formatters}


def configure_logging(env: Mapping[str, str], level: int = logging.INFO) -> None:
    """The root logger's handler for a ``switchboard`` command, in the format ``env`` asks
    for (``SWITCHBOARD_LOG_FORMAT``, ``SWITCHBOARD_LOG_MASK``)."""
    try:
        settings = ObserveSettings.from_env(env)
    except ConfigError:
        settings = ObserveSettings()  # the command reports the bad setting itself
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(settings.log_mask))
    else:
        handler.setFormatter(TextFormatter(mask=settings.log_mask))
    logging.basicConfig(level=level, handlers=[handler])
