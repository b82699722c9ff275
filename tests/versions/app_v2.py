"""The signup flow at version 2, served (``--app tests.versions.app_v2:app``): one side of the
rolling-deploy test and the app ``switchboard flows check`` is tested with."""

from __future__ import annotations

from bot import Router, Settings, create_app
from tests.versions.signup import SignupV2

app = create_app([SignupV2], Router(default="signup"), Settings.from_env())
