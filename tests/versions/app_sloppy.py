"""An app serving :class:`tests.versions.sloppy.Sloppy`, for ``flows check --strict``."""

from __future__ import annotations

from bot import Router, Settings, create_app
from tests.versions.sloppy import Sloppy

app = create_app([Sloppy], Router(default="sloppy"), Settings.from_env())
