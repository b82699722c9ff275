"""Compliance configuration: consent keywords, confirmation texts, WhatsApp templates.

Everything has a working default, so ``Compliance()`` is enough to run. Per number (E.164,
no channel prefix) a :class:`NumberPolicy` can replace the keyword sets, the texts, the
WhatsApp templates and the consent *scope* (a Messaging Service SID, when the number sends
through one: an opt-out from one number of a service then covers the whole service, as it
does at Twilio). :meth:`Compliance.from_dict` reads the same shape from JSON.

Keyword matching (see docs/compliance.md): the **whole** message must be the keyword (or,
under the number's :class:`~bot.compliance.revocation.Revocation` policy, a short phrase that
clearly revokes consent, see ``bot.compliance.revocation``). Case,
Unicode width and white space around it do not count, and neither does punctuation at either
end ("STOP.", "stop!", "¡STOP!" all opt out); anything else ("stop please") is not a keyword.
We err this way on purpose: honouring an opt-out someone punctuated is safe, missing it is not.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from bot.compliance.quiet import QuietHours, number_zones_of, zone
from bot.compliance.revocation import Revocation
from bot.errors import ConfigError
from bot.events.model import strip_channel

__all__ = [
    "SPANISH",
    "Compliance",
    "Keywords",
    "NumberPolicy",
    "Template",
    "Texts",
    "normalise",
]

WHATSAPP_WINDOW = timedelta(hours=24)
_SCOPES_KEPT = 1024  # our own addresses: a handful; the bound only guards against surprises


def normalise(text: str) -> str:
    """How a message is compared with keywords: NFKC, casefolded, trimmed of space/punctuation."""
    if text.isascii():  # NFKC changes no ASCII, casefold is lower(), no format character
        return text.lower().strip(_ASCII_IGNORABLE)
    folded = _visible(unicodedata.normalize("NFKC", text)).casefold()
    start, end = 0, len(folded)
    while start < end and _ignorable(folded[start]):
        start += 1
    while end > start and _ignorable(folded[end - 1]):
        end -= 1
    return folded[start:end]


def _ignorable(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


# The ASCII characters _ignorable trims: white space and punctuation (str.strip's argument).
_ASCII_IGNORABLE = "".join(chr(c) for c in range(128) if _ignorable(chr(c)))


def _visible(text: str) -> str:
    # Format characters (zero-width space, BOM, direction marks, soft hyphen) are invisible:
    # "STOP" with one of them inside or around it is still STOP to the person who sent it.
    if text.isascii():  # no format character is ASCII (the first is U+00AD)
        return text
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def _words(words: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(words, str):
        raise ConfigError(f"{what} keywords must be a list of words, not the string {words!r}")
    found = frozenset(normalise(w) for w in words)
    if "" in found:
        raise ConfigError(f"{what} keywords contain an empty word")
    return found


@dataclass(frozen=True)
class Keywords:
    """The opt-out, opt-in and help keyword sets of one number (stored normalised)."""

    opt_out: frozenset[str] = frozenset(
        # The FCC's revocation words (47 CFR § 64.1200(a)(10)) and the carriers' usual ones
        {
            "stop",
            "stopall",
            "stop all",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "opt out",
            "opt-out",
        }
    )
    opt_in: frozenset[str] = frozenset({"start", "yes", "unstop"})
    help: frozenset[str] = frozenset({"help", "info"})

    def __post_init__(self) -> None:
        for name in ("opt_out", "opt_in", "help"):
            object.__setattr__(self, name, _words(getattr(self, name), name))
        overlap = (self.opt_out & self.opt_in) | (self.opt_out & self.help)
        overlap |= self.opt_in & self.help
        if overlap:
            raise ConfigError(f"keywords {sorted(overlap)} are in more than one set")

    def plus(self, other: Keywords) -> Keywords:
        """These keywords and ``other``'s (e.g. ``Keywords().plus(SPANISH)``)."""
        return Keywords(
            self.opt_out | other.opt_out, self.opt_in | other.opt_in, self.help | other.help
        )


# An extra language, to add with ``Keywords().plus(SPANISH)``. Check the words with your
# carrier/Twilio Advanced Opt-Out settings; these are common choices, not a legal list.
SPANISH = Keywords(
    opt_out=frozenset({"alto", "parar", "para", "baja", "cancelar", "detener"}),
    opt_in=frozenset({"comenzar", "iniciar", "alta"}),
    help=frozenset({"ayuda"}),
)


@dataclass(frozen=True)
class Texts:
    """What we answer to the keywords (Twilio's widely quoted defaults)."""

    opted_out: str = (
        "You have successfully been unsubscribed. You will not receive any more messages "
        "from this number. Reply START to resubscribe."
    )
    opted_in: str = (
        "You have successfully been resubscribed to messages from this number. "
        "Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply."
    )
    help: str = "Reply STOP to unsubscribe, START to resubscribe. Msg&Data Rates May Apply."

    def __post_init__(self) -> None:
        for name in ("opted_out", "opted_in", "help"):
            if not getattr(self, name).strip():
                raise ConfigError(f"the {name} confirmation text is empty")


@dataclass(frozen=True)
class Template:
    """An approved WhatsApp template: its ``ContentSid`` and default ``ContentVariables``."""

    content_sid: str
    variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.content_sid.startswith("HX") and len(self.content_sid) == 34):
            raise ConfigError(
                f"template ContentSid {self.content_sid!r} must look like HX + 32 hex digits"
            )


@dataclass(frozen=True)
class NumberPolicy:
    """Keywords, texts, templates (by message kind) and consent scope of one number."""

    keywords: Keywords = field(default_factory=Keywords)
    texts: Texts = field(default_factory=Texts)
    templates: Mapping[str, Template] = field(default_factory=dict)
    service: str | None = None  # Messaging Service SID: the consent scope, when set
    revocation: Revocation = Revocation.PHRASES  # see bot.compliance.revocation
    quiet: QuietHours | None = field(default_factory=QuietHours)  # None: never held

    def consent_reply(self, body: str) -> bool:
        """Whether ``body`` is one of the texts an opted-out person may still receive."""
        return body in (self.texts.opted_out, self.texts.help)


@dataclass(frozen=True)
class Compliance:
    """Compliance settings for every number: ``default`` unless ``numbers`` has its own."""

    default: NumberPolicy = field(default_factory=NumberPolicy)
    numbers: Mapping[str, NumberPolicy] = field(default_factory=dict)
    window: timedelta = WHATSAPP_WINDOW
    # A person's time zone for quiet hours, overriding the one their number implies.
    contact_zones: Mapping[str, str] = field(default_factory=dict)
    # our address -> its scope, worked out once (the settings are frozen)
    _scopes: dict[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "numbers", {strip_channel(n): p for n, p in self.numbers.items()})
        zones = {strip_channel(n): z for n, z in self.contact_zones.items()}
        for name in zones.values():
            zone(name)
        object.__setattr__(self, "contact_zones", zones)
        if self.window <= timedelta(0):
            raise ConfigError("the WhatsApp window must be positive")

    def zones(self, theirs: str) -> tuple[str, ...]:
        """The time zones of the person at ``theirs``: their own, else their number's."""
        person = strip_channel(theirs)
        own = self.contact_zones.get(person)
        return (own,) if own else number_zones_of(person)

    def policy(self, ours: str) -> NumberPolicy:
        """The policy of our number ``ours`` (``+1…`` or ``whatsapp:+1…``)."""
        if not self.numbers:  # one policy for every number: a turn asks about three times
            return self.default
        return self.numbers.get(strip_channel(ours), self.default)

    def scope(self, ours: str) -> str:
        """Where a consent change applies: the number's Messaging Service, else the number."""
        found = self._scopes.get(ours)
        if found is None:
            found = self.policy(ours).service or strip_channel(ours)
            if len(self._scopes) >= _SCOPES_KEPT:
                self._scopes.clear()
            self._scopes[ours] = found
        return found

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Compliance:
        """Build from ``{"default": {...}, "numbers": {"+1…": {...}}}`` (see the docs)."""
        try:
            default = _policy(raw.get("default", {}), NumberPolicy())
            numbers = {n: _policy(p, default) for n, p in raw.get("numbers", {}).items()}
            window = timedelta(hours=float(raw.get("window_hours", 24)))
            zones = dict(raw.get("contact_zones", {}))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"compliance settings are malformed: {exc}") from exc
        return cls(default, numbers, window, zones)

    @classmethod
    def from_file(cls, path: str | Path) -> Compliance:
        """Read :meth:`from_dict`'s shape from a JSON file."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read compliance settings {str(path)!r}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{str(path)!r} must hold a JSON object")
        return cls.from_dict(raw)


def _policy(raw: Mapping[str, Any], base: NumberPolicy) -> NumberPolicy:
    words = raw.get("keywords", {})
    keywords = Keywords(
        words.get("opt_out", base.keywords.opt_out),
        words.get("opt_in", base.keywords.opt_in),
        words.get("help", base.keywords.help),
    )
    for language in words.get("languages", ()):
        if language != "es":
            raise ConfigError(f"unknown keyword language {language!r} (known: es)")
        keywords = keywords.plus(SPANISH)
    texts = replace(base.texts, **raw.get("texts", {}))
    templates = {
        kind: Template(t["content_sid"], dict(t.get("variables", {})))
        for kind, t in raw.get("templates", {}).items()
    }
    return NumberPolicy(
        keywords, texts, {**base.templates, **templates}, raw.get("service", base.service),
        Revocation(raw.get("revocation", base.revocation)),
        _quiet(raw["quiet_hours"]) if "quiet_hours" in raw else base.quiet,
    )  # fmt: skip


def _quiet(raw: Mapping[str, Any] | None) -> QuietHours | None:
    """``{"start": "08:00", "end": "21:00", "default_zone": "UTC"}``, or null: never held."""
    if raw is None:
        return None
    base = QuietHours()
    return QuietHours(
        time.fromisoformat(raw.get("start", base.start.isoformat())),
        time.fromisoformat(raw.get("end", base.end.isoformat())),
        raw.get("default_zone", base.default_zone),
    )
