"""The ASGI app ``hypercorn app:app`` serves: the example flows, SQLite by default.

Configuration comes from the environment (see docs/deployment.md): TWILIO_AUTH_TOKEN,
SWITCHBOARD_PUBLIC_URL, SWITCHBOARD_DATABASE_URL, SWITCHBOARD_DEV, ... The app is built by
``flows.build``, which the transcript tests replay against too.
"""

from __future__ import annotations

from bot import Settings
from flows import build

app = build(Settings.from_env())
