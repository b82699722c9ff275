"""Quiet hours: non-transactional messages wait for the recipient's local sending window.

A campaign or a reminder marked as such (:attr:`storage.records.Purpose.transactional` is
False) is sent only between ``start`` and ``end`` local time of the recipient (08:00-21:00
by default, the TCPA's calling hours, 47 CFR § 64.1200(c)(1)). Outside them the outbox holds
it (``pending``, event ``held``) until the window opens. Replies, consent answers and other
transactional messages are never held.

The recipient's time zone comes from their number (``phonenumbers``' carrier-independent
geocoding: the zones of the number's area); a number that spans several zones is sent to
only when the window is open in *all* of them. A per-contact zone (``Compliance.contact_zones``)
overrides the number; a number with no known zone uses ``default_zone``. Local times are
``zoneinfo`` wall-clock times, so a DST change moves the window with the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

from bot.errors import ConfigError

__all__ = ["QuietHours", "number_zones_of", "zone"]


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; :class:`ConfigError` when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r} (use an IANA name such as America/Chicago)"
        ) from None


@lru_cache(maxsize=4096)
def number_zones_of(person: str) -> tuple[str, ...]:
    """The IANA zones of the E.164 number ``person`` (empty when unknown)."""
    try:
        parsed = phonenumbers.parse(person, None)
    except phonenumbers.NumberParseException:
        return ()
    found = number_zones.time_zones_for_number(parsed)
    return tuple(z for z in found if z != number_zones.UNKNOWN_TIMEZONE)


@dataclass(frozen=True)
class QuietHours:
    """The local sending window for non-transactional messages."""

    start: time = time(8, 0)
    end: time = time(21, 0)
    default_zone: str = "UTC"  # for numbers whose zone is unknown

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ConfigError(
                f"quiet hours: the sending window start {self.start} must be before end {self.end}"
            )
        zone(self.default_zone)

    def opens_at(self, zones: Sequence[str], now: datetime) -> datetime | None:
        """None when ``now`` is inside the window in every zone, else when it next is."""
        names = list(zones) or [self.default_zone]
        when = now
        for _ in range(8):  # each step moves to a later opening; a few zones settle fast
            later = max((self._next_open(zone(n), when) for n in names), default=when)
            if later == when:
                return None if when == now else when
            when = later
        return when

    def _next_open(self, tz: ZoneInfo, now: datetime) -> datetime:
        local = now.astimezone(tz)
        if self.start <= local.time() < self.end:
            return now
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=tz).astimezone(now.tzinfo)
