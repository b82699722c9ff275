"""The webhook's form: a werkzeug ``MultiDict`` whose ``get`` of a missing key is cheap."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from werkzeug.datastructures import ImmutableMultiDict, ImmutableMultiDictMixin, MultiDict

__all__ = ["Form", "grouped", "query_args"]

M = TypeVar("M", bound=MultiDict[str, str])


class Form(MultiDict[str, str]):
    """A multi-dict of the posted parameters.

    werkzeug's ``MultiDict.get`` goes through ``__getitem__``, which builds a
    ``BadRequestKeyError`` (an ``HTTPException``) for every missing key, and building one
    event asks for a dozen optional parameters that are usually absent (``ProfileName``,
    ``Latitude``, ``ButtonText``, ...). Here a plain ``get`` is a dict lookup.
    """

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]
        if type is not None:
            return super().get(key, default, type)
        values = dict.get(self, key)
        return values[0] if values else default


class _Args(ImmutableMultiDictMixin[str, str], Form):  # type: ignore[misc]
    """A request's query parameters: an immutable multi-dict, as werkzeug's ``args``."""


def query_args(query: bytes) -> MultiDict[str, str]:
    """werkzeug's ``Request.args`` for the raw ``query`` (immutable, as werkzeug's): the same
    pairs, read directly when there is nothing to unquote, else parsed as werkzeug parses
    them. A short query is parsed once: a voice action URL's ``step=1&on=gather`` repeats,
    and an SMS webhook's is empty."""
    return _short_args(query) if len(query) <= _SHORT else _args(query)


_SHORT = 100


@functools.lru_cache(maxsize=512)
def _short_args(query: bytes) -> MultiDict[str, str]:
    return _args(query)


def _args(query: bytes) -> MultiDict[str, str]:
    if b"%" in query or b"+" in query or not query.isascii():
        # werkzeug 2.3+: invalid UTF-8 stays percent-encoded ("werkzeug.url_quote")
        pairs = parse_qsl(query.decode(), keep_blank_values=True, errors="werkzeug.url_quote")
        return ImmutableMultiDict(pairs)
    fields = query.decode("ascii").split("&")
    return grouped([field.partition("=") for field in fields if field], _Args)


def grouped(fields: Iterable[tuple[str, str, str]], into: type[M]) -> M:
    """The multi-dict of ``fields`` split as ``field.partition("=")`` (name, ``=``, value),
    built without werkzeug's ``iter_multi_items`` (a ``MultiDict`` keeps each name's values
    in a list inside); the webhook's form and query strings are built here."""
    lists: dict[str, list[str]] = {}
    for name, _, value in fields:
        values = lists.get(name)
        if values is None:
            lists[name] = [value]
        else:
            values.append(value)
    multi = into()
    dict.update(multi, lists)
    return multi
