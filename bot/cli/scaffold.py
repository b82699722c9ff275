"""The files ``switchboard new`` writes: a project of one's own, ready to test and serve.

Every template is filled with ``str.format`` from :class:`Project`; literal braces in the
files are doubled.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FILES", "Project"]


@dataclass(frozen=True)
class Project:
    """What the templates are filled with."""

    name: str  # the directory's name, e.g. "pizza-bot"
    package: str  # the Python package, e.g. "pizza_bot"
    requirement: str  # how pyproject.toml asks for Switchboard


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "{p.name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["{p.requirement}"]

[project.optional-dependencies]
test = ["pytest>=8", "pytest-asyncio>=0.23"]

[tool.setuptools.packages.find]
include = ["{p.package}*"]

[tool.pytest.ini_options]
# Transcripts (tests/transcripts/*.transcript) are collected by Switchboard's pytest plugin
# and replayed against the app this factory builds.
switchboard_app = "{p.package}:build"
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
testpaths = ["tests"]
"""

INIT = '''\
"""{p.name}: the flows, how numbers route to them, and the app factory."""

from __future__ import annotations

from quart import Quart

from bot import Clock, Flow, Router, Settings
from bot.runtime import Runtime, build_runtime
from bot.web import web_app
from storage import Store
from {p.package}.greeting import GreetingFlow

__all__ = ["FLOWS", "GreetingFlow", "build", "router", "runtime"]

FLOWS: list[type[Flow]] = [GreetingFlow]


def router() -> Router:
    """Every number, every channel: the greeting flow (route more with router.add)."""
    return Router(default="greeting")


def runtime(
    settings: Settings, *, store: Store | None = None, clock: Clock | None = None
) -> Runtime:
    """The flows' runtime (``switchboard send --runtime {p.package}:runtime`` uses it)."""
    return build_runtime(FLOWS, router(), settings, store=store, clock=clock)


def build(settings: Settings, *, store: Store | None = None, clock: Clock | None = None) -> Quart:
    """The web app; the transcript tests build it with their own store and clock."""
    return web_app(runtime(settings, store=store, clock=clock))
'''

APP = '''\
"""The ASGI app ``switchboard serve --app {p.package}.app:app`` serves (settings from the
environment: TWILIO_AUTH_TOKEN, SWITCHBOARD_PUBLIC_URL, SWITCHBOARD_DATABASE_URL, ...)."""

from bot import Settings
from {p.package} import build

app = build(Settings.from_env())
'''

GREETING = '''\
"""A first flow: ask for a name, then greet. Change it, and its transcripts, as you like."""

from __future__ import annotations

from bot import Flow, T, Turn, text_matches

__all__ = ["GreetingFlow"]


class GreetingFlow(Flow):
    name = "greeting"
    initial = "asking"
    states = ["asking", "greeted"]
    final_states = ["greeted"]
    transitions = [
        T("message", "asking", "greeted", conditions=text_matches(r"[\\w .'-]{{1,40}}")),
        T("invalid", "asking", "=", before="say_sorry"),
    ]

    def on_enter_asking(self, turn: Turn) -> None:
        turn.say("Hi! What's your name?")

    def on_enter_greeted(self, turn: Turn) -> None:
        turn.data["name"] = turn.text
        turn.say(f"Nice to meet you, {{turn.text}}!")

    def say_sorry(self, turn: Turn) -> None:
        turn.say("Sorry, just your name please.")
'''

TRANSCRIPT_HAPPY = """\
flow: greeting
from: +15550001111
to: +15550100000

> hello
< Hi! What's your name?
> Ada
< Nice to meet you, Ada!
= state greeted
"""

TRANSCRIPT_WRONG = """\
flow: greeting
from: +15550002222
to: +15550100000

> hi
< Hi! What's your name?
> ???
< Sorry, just your name please.
< Hi! What's your name?
> Grace
< Nice to meet you, Grace!
"""

TEST_HARNESS = '''\
"""The flow driven from Python, for what a transcript cannot say (asyncio mode is "auto")."""

from __future__ import annotations

from bot.testing import Harness
from {p.package} import FLOWS, router


async def test_the_name_is_kept() -> None:
    async with Harness.of(FLOWS, router()) as harness:
        phone = harness.phone("+15550003333")
        await phone.send("hey")
        reply = await phone.send("Linus")
        assert reply.messages == ["Nice to meet you, Linus!"]
        stored = await harness.store.conversation("sms:+15550100000:+15550003333")
        assert stored is not None and stored.data == {{"name": "Linus"}}
'''

README = """\
# {p.name}

Conversations over Twilio (SMS, WhatsApp, voice), written as Switchboard flows.

Run the server on SQLite in local dev mode (127.0.0.1, unsigned requests accepted):

```sh
python3 -m venv .venv && . .venv/bin/activate && pip install -e . && switchboard serve --dev --app {p.package}.app:app
```

Install and run the tests (the transcripts in tests/transcripts are replayed as tests):

```sh
python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest
```

Try it without a phone:

```sh
curl -s http://127.0.0.1:8000/twilio --data-urlencode From=+15550001111 \\
  --data-urlencode To=+15550100000 --data-urlencode Body=hi \\
  --data-urlencode MessageSid=SM00000000000000000000000000000001
```

- `{p.package}/greeting.py` is the first flow; add flows to `FLOWS` and route numbers in
  `router()` (`{p.package}/__init__.py`).
- `switchboard diagram greeting --flows {p.package}:FLOWS` draws it.
- In production drop `--dev` and set `TWILIO_AUTH_TOKEN` and `SWITCHBOARD_PUBLIC_URL`.
"""

GITIGNORE = """\
.venv/
__pycache__/
*.db
*.db-*
.pytest_cache/
"""

FILES: dict[str, str] = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    ".gitignore": GITIGNORE,
    "{package}/__init__.py": INIT,
    "{package}/app.py": APP,
    "{package}/greeting.py": GREETING,
    "tests/test_greeting.py": TEST_HARNESS,
    "tests/transcripts/greeting.transcript": TRANSCRIPT_HAPPY,
    "tests/transcripts/greeting_wrong_input.transcript": TRANSCRIPT_WRONG,
}
