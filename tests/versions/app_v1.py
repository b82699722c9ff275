"""The signup flow at version 1, served (``--app tests.versions.app_v1:app``): one side of the
rolling-deploy test and the app ``switchboard flows check`` is tested with."""

from __future__ import annotations

from bot import Router, Settings, create_app
from tests.versions.signup import SignupV1

app = create_app([SignupV1], Router(default="signup"), Settings.from_env())
