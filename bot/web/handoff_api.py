"""The hand-off part of the admin API (``/admin/api/handoffs``): the inbox and its actions.

``GET /admin/api/handoffs`` lists conversations in hand-off, longest waiting first, each
with its hand-off record and data; ``POST /admin/api/handoffs/<key>/<action>`` with a JSON
body does ``take_over`` (``reason``), ``claim``, ``reply`` (``text``, ``media``,
``template``), ``return`` (``state``) or ``close``; each takes the optional ``version``
the operator saw.
"""

from __future__ import annotations

from typing import Any

from bot.admin.errors import Invalid
from bot.admin.handoff import Handoffs
from bot.admin.views import conversation_json
from bot.flow.handoff import current
from storage.records import Conversation

__all__ = ["HANDOFF_ACTIONS", "handoff_action", "handoff_json"]

HANDOFF_ACTIONS = ("take_over", "claim", "reply", "return", "close")


def handoff_json(c: Conversation) -> dict[str, Any]:
    """One inbox row: the conversation and its hand-off record."""
    found = current(c.data)
    return {**conversation_json(c), "handoff": found.to_json() if found else None}


def _version(body: dict[str, Any]) -> int | None:
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise Invalid("version must be a whole number (the version you saw)")
    return version


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise Invalid(f"{name} must be text")
    return value


async def handoff_action(
    h: Handoffs, key: str, action: str, body: dict[str, Any], who: str
) -> Conversation | None:
    """Do ``action`` on ``key`` as ``who``; ``None`` for an unknown action."""
    v = _version(body)
    if action == "take_over":
        return await h.take_over(key, who, _text(body, "reason"), expected=v)
    if action == "claim":
        return await h.claim(key, who, expected=v)
    if action == "reply":
        media = body.get("media", [])
        if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
            raise Invalid("media must be a list of URLs")
        template = body.get("template") or None
        if template is not None and not isinstance(template, str):
            raise Invalid("template must be the name of a configured template")
        return await h.reply(key, who, _text(body, "text"), media=media, template=template,
                             expected=v)  # fmt: skip
    if action == "return":
        return await h.give_back(key, who, _text(body, "state") or None, expected=v)
    if action == "close":
        return await h.close(key, who, expected=v)
    return None
