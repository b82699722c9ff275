"""One flow in three versions, as a team would deploy it: the fixtures of issue 14's tests.

- v1 asks a name, a phone number, then an e-mail address (``ask_mail``).
- v2 renames ``ask_mail`` to ``ask_email``, drops ``ask_phone`` (a conversation there goes on
  to the e-mail question) and splits the stored ``name`` into ``first_name``.
- v3 renames ``ask_email`` to ``email``: a v1 conversation migrates v1 → v2 → v3.
- ``Removed`` is v2 written carelessly: ``ask_phone`` and ``ask_mail`` gone, no migration.
"""

from __future__ import annotations

from typing import Any, ClassVar

from quart import Quart

from bot import Flow, Router, T, Turn, create_app
from bot.clock import Clock
from bot.flow.versions import Lost, Migration
from bot.settings import Settings
from storage.base import Store

__all__ = [
    "Removed",
    "SignupV1",
    "SignupV2",
    "SignupV3",
    "build_removed",
    "build_v1",
    "build_v2",
    "build_v3",
]


class SignupV1(Flow):
    name = "signup"
    initial = "ask_name"
    states = ["ask_name", "ask_phone", "ask_mail", "done"]
    final_states = ["done"]
    transitions = [
        T("message", "ask_name", "ask_phone", before="keep_name"),
        T("message", "ask_phone", "ask_mail", before="keep_phone"),
        T("message", "ask_mail", "done", before="keep_mail"),
    ]

    def on_enter_ask_name(self, turn: Turn) -> None:
        turn.say("Welcome! What's your name?")

    def keep_name(self, turn: Turn) -> None:
        turn.data["name"] = turn.text

    def on_enter_ask_phone(self, turn: Turn) -> None:
        turn.say("Your phone number?")

    def keep_phone(self, turn: Turn) -> None:
        turn.data["phone"] = turn.text

    def on_enter_ask_mail(self, turn: Turn) -> None:
        turn.say(f"Thanks {turn.data['name']}. Your e-mail?")

    def keep_mail(self, turn: Turn) -> None:
        turn.data["mail"] = turn.text

    def on_enter_done(self, turn: Turn) -> None:
        turn.say(f"All set, {turn.data['name']} <{turn.data['mail']}>.")


def split_name(data: dict[str, Any]) -> dict[str, Any]:
    """v1 → v2: ``name`` becomes ``first_name``."""
    data["first_name"] = str(data.pop("name", "")).split(" ")[0]
    return data


class _Answers:
    """What v2 and v3 share: they keep ``first_name`` and ``email``."""

    def on_enter_ask_name(self, turn: Turn) -> None:
        turn.say("Welcome! What's your first name?")

    def keep_name(self, turn: Turn) -> None:
        turn.data["first_name"] = turn.text

    def keep_mail(self, turn: Turn) -> None:
        turn.data["email"] = turn.text

    def on_enter_done(self, turn: Turn) -> None:
        turn.say(f"All set, {turn.data['first_name']} <{turn.data['email']}>.")


TO_V2 = Migration(
    to=2, renamed={"ask_mail": "ask_email"}, removed={"ask_phone": "ask_email"}, data=split_name
)


class SignupV2(_Answers, Flow):
    name = "signup"
    version = 2
    migrations = [TO_V2]
    initial = "ask_name"
    states = ["ask_name", "ask_email", "done"]
    final_states = ["done"]
    transitions = [
        T("message", "ask_name", "ask_email", before="keep_name"),
        T("message", "ask_email", "done", before="keep_mail"),
    ]

    def on_enter_ask_email(self, turn: Turn) -> None:
        turn.say(f"Thanks {turn.data['first_name']}. Your e-mail address?")


class SignupV3(_Answers, Flow):
    name = "signup"
    version = 3
    migrations = [TO_V2, Migration(to=3, renamed={"ask_email": "email"})]
    initial = "ask_name"
    states = ["ask_name", "email", "done"]
    final_states = ["done"]
    transitions = [
        T("message", "ask_name", "email", before="keep_name"),
        T("message", "email", "done", before="keep_mail"),
    ]

    def on_enter_email(self, turn: Turn) -> None:
        turn.say(f"Thanks {turn.data['first_name']}. E-mail?")


class Removed(SignupV2):
    """v2 without its migration: a v1 conversation in ``ask_phone`` or ``ask_mail`` is lost."""

    migrations: ClassVar[list[Migration]] = []
    on_lost = Lost.RESTART


def _build(flow: type[Flow]) -> Any:
    def build(settings: Settings, *, store: Store, clock: Clock) -> Quart:
        return create_app([flow], Router(default="signup"), settings, store=store, clock=clock)

    return build


build_v1 = _build(SignupV1)
build_v2 = _build(SignupV2)
build_v3 = _build(SignupV3)
build_removed = _build(Removed)
