"""The caller redeployed without its migration (``--app tests.versions.app_caller_careless:app``):
what ``switchboard flows check`` is tested with for callers waiting on a subflow."""

from __future__ import annotations

from bot import Router, Settings, create_app
from tests.versions.caller import Careless

app = create_app([Careless], Router(default="caller"), Settings.from_env())
