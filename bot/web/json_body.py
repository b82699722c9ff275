"""The JSON object a console or dev-tool request sends, read so that no body can be a 500.

``request.get_json(silent=True)`` returns ``None`` for malformed JSON, but lets two kinds of
valid-looking JSON through to fail later: nesting deeper than the interpreter's recursion
limit raises :class:`RecursionError` from ``json.loads`` itself (``silent`` catches only
``ValueError``), and a little less parses but overflows the stack when it is encoded again
for the store, the audit log or the answer; a ``\\ud800`` escape decodes to a lone surrogate,
a ``str`` no UTF-8 encoder takes, so storing it raised :class:`UnicodeEncodeError`.
:func:`read_object` refuses both up front, with a :class:`ValueError` saying what to send, so
the caller answers a 4xx before anything is written.
"""

from __future__ import annotations

from typing import Any

from quart import Request

__all__ = ["MAX_DEPTH", "BadBody", "read_object"]

# Objects and arrays within each other, the body itself the first: conversation data an
# operator edits is a few levels deep, and JSON this deep still encodes far from the stack's end.
MAX_DEPTH = 100


class BadBody(ValueError):
    """The request body is not a JSON object this API can take; the message says why."""


async def read_object(request: Request) -> dict[str, Any]:
    """The request's JSON body: an object, nested at most :data:`MAX_DEPTH` levels, every
    string (keys too) Unicode text; :class:`BadBody` otherwise."""
    try:
        body = await request.get_json(silent=True)
    except RecursionError:
        raise BadBody(_TOO_DEEP) from None
    if not isinstance(body, dict):
        raise BadBody("send a JSON object as the request body")
    _check(body)
    return body


_TOO_DEEP = f"the request body nests deeper than {MAX_DEPTH} levels of objects and arrays"


def _check(body: dict[str, Any]) -> None:
    """Walk ``body`` without recursion: its depth, and no lone surrogate in a string."""
    todo: list[tuple[Any, int]] = [(body, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, str):
            _text(value)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise BadBody(_TOO_DEEP)
            items = [*value, *value.values()] if isinstance(value, dict) else value
            todo.extend((item, depth + 1) for item in items)


def _text(value: str) -> None:
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        half = value[exc.start]
        raise BadBody(
            f"the request body holds U+{ord(half):04X}, half of a surrogate pair without the "
            "other half, which is not text: send strings as Unicode text (UTF-8)"
        ) from None
