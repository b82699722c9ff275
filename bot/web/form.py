"""The webhook's form: a werkzeug ``MultiDict`` whose ``get`` of a missing key is cheap."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

__all__ = ["Form"]


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
