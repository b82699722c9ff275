"""Regression: a reply computed before the person's STOP committed must not go out.

The bug: a turn read the person's consent, another turn (another process on the same
database, or another conversation of the same consent scope in this process) committed their
STOP, and the first turn then committed its reply, decided as if they were still opted in.
Now the contacts a turn read are part of its commit's check (``TurnWrite.contacts``): the
commit conflicts and the step is redone on the new consent.

Each test is deterministic: :class:`Stall` holds the turn right after it read the contact,
the other change commits, then the turn is let go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot import Channel, Flow, Router, T, Turn
from bot.compliance.config import Compliance, NumberPolicy, Texts
from bot.compliance.window import window_key
from bot.dev.reply import Reply
from bot.testing import Harness
from bot.twiml.messaging import Message
from storage.base import Store
from storage.records import Contact

NUMBER, OTHER_NUMBER = "+15550100000", "+15550100001"
PERSON, THIRD = "+15550001111", "+15550002222"
SERVICE = "MG" + "7" * 32
TEXTS = Texts()


class Relay(Flow):
    """Echoes every message; ``tell <address>`` also messages that address."""

    name = "relay"
    initial = "idle"
    states = ["idle"]
    transitions = [T("message", "idle", None, after="answer")]

    def on_enter_idle(self, turn: Turn) -> None:
        turn.say("welcome")

    def answer(self, turn: Turn) -> None:
        if turn.text.startswith("tell "):
            turn.reply(Message("news for you", to=turn.text.removeprefix("tell ")))
        turn.say(f"echo {turn.text}")


class Stall:
    """Holds the first ``store.contact`` read matching ``which`` until released."""

    def __init__(self, store: Store, which: Callable[[str, str, str | None], bool]) -> None:
        self.reads = 0
        self.read, self.released = asyncio.Event(), asyncio.Event()
        self._contact, self._which = store.contact, which
        store.contact = self.contact  # type: ignore[method-assign]

    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        found = await self._contact(scope, person, window)
        if self._which(scope, person, window):
            self.reads += 1
            if not self.read.is_set():
                self.read.set()
                await self.released.wait()
        return found


async def race(
    turn: Awaitable[Reply], stall: Stall, meanwhile: Callable[[], Awaitable[Any]]
) -> Reply:
    """Run ``turn`` until it read the contact, run ``meanwhile`` to the end, then let it go."""
    task = asyncio.ensure_future(turn)
    await asyncio.wait_for(stall.read.wait(), 10)
    await meanwhile()
    stall.released.set()
    return await asyncio.wait_for(task, 10)


def harness(compliance: Compliance | None = None, db: Path | None = None) -> Harness:
    return Harness.of([Relay], Router(default="relay"), compliance, db_path=db)


def any_read(scope: str, person: str, window: str | None) -> bool:
    return person == PERSON


async def test_a_stop_committed_by_another_app_on_the_same_file_silences_the_stalled_turn(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shared.db"
    async with harness(db=db) as one, harness(db=db) as two:
        await one.phone(PERSON).send("hi")
        stall = Stall(two.store, any_read)
        reply = await race(
            two.phone(PERSON).send("3"), stall, lambda: one.phone(PERSON).send("STOP")
        )
        assert reply.messages == []
        assert stall.reads == 2  # the commit conflicted and the step was redone
        log = await one.store.log(f"sms:{NUMBER}:{PERSON}")
        assert [(e.direction, e.body, e.meta) for e in log[-3:]] == [
            ("in", "STOP", {"keyword": "opt_out"}),
            ("out", TEXTS.opted_out, {}),
            ("in", "3", {"suppressed": "opted_out"}),
        ]
        conversation = await one.store.conversation(f"sms:{NUMBER}:{PERSON}")
        assert conversation is not None and conversation.version == 1  # "3" did not run


async def test_a_stop_on_sms_silences_a_whatsapp_turn_of_the_same_person() -> None:
    async with harness() as h:
        wa, sms = h.phone(PERSON, channel=Channel.WHATSAPP), h.phone(PERSON)
        await wa.send("hi")
        stall = Stall(h.store, lambda scope, person, window: window is not None)
        reply = await race(wa.send("3"), stall, lambda: sms.send("STOP"))
        assert reply.messages == []
        assert stall.reads == 2
        log = await h.store.log(window_key(f"whatsapp:{NUMBER}", f"whatsapp:{PERSON}"))
        assert (log[-1].body, log[-1].meta) == ("3", {"suppressed": "opted_out"})


async def test_a_stop_on_one_number_of_a_service_silences_a_turn_on_another() -> None:
    shared = NumberPolicy(service=SERVICE)
    compliance = Compliance(numbers={NUMBER: shared, OTHER_NUMBER: shared})
    async with harness(compliance) as h:
        await h.phone(PERSON, OTHER_NUMBER).send("hi")
        stall = Stall(h.store, any_read)
        turn = h.phone(PERSON, OTHER_NUMBER).send("3")
        reply = await race(turn, stall, lambda: h.phone(PERSON, NUMBER).send("STOP"))
        assert reply.messages == []
        assert [c.scope for c in await h.store.consent_history(PERSON)] == [SERVICE]


async def test_a_message_to_a_third_person_who_stopped_meanwhile_is_refused() -> None:
    async with harness() as h:
        await h.phone(PERSON).send("hi")
        stall = Stall(h.store, lambda scope, person, window: person == THIRD)
        turn = h.phone(PERSON).send(f"tell {THIRD}")
        reply = await race(turn, stall, lambda: h.phone(THIRD).send("STOP"))
        assert reply.messages == [f"echo tell {THIRD}"]  # to the sender only
        assert stall.reads == 3  # the stalled read, THIRD's own STOP turn, the redo
        refused = (await h.store.log(f"sms:{NUMBER}:{PERSON}"))[-1]
        assert (refused.kind, refused.meta["reason"], refused.meta["to"]) == (
            "refused", "opted_out", THIRD,
        )  # fmt: skip


async def test_a_whatsapp_window_closed_by_63016_meanwhile_refuses_the_free_form_reply() -> None:
    async with harness() as h:
        await h.phone(THIRD, channel=Channel.WHATSAPP).send("hi")  # THIRD's window is open
        await h.phone(PERSON, channel=Channel.WHATSAPP).send("hi")
        stall = Stall(h.store, lambda scope, person, window: person == THIRD)
        turn = h.phone(PERSON, channel=Channel.WHATSAPP).send(f"tell whatsapp:{THIRD}")
        closed = h.engine.gate.window_error(
            f"whatsapp:{NUMBER}", f"whatsapp:{THIRD}", h.clock.now()
        )
        reply = await race(turn, stall, lambda: closed)
        assert reply.messages == [f"echo tell whatsapp:{THIRD}"]
        assert stall.reads == 2
        refused = (await h.store.log(window_key(f"whatsapp:{NUMBER}", f"whatsapp:{PERSON}")))[-1]
        assert (refused.kind, refused.meta["reason"]) == ("refused", "window_closed")


async def test_a_change_for_someone_else_does_not_redo_the_turn() -> None:
    async with harness() as h:
        await h.phone(PERSON).send("hi")
        stall = Stall(h.store, lambda scope, person, window: (scope, person) == (NUMBER, PERSON))
        others = [h.phone(THIRD).send("STOP"), h.phone(PERSON, OTHER_NUMBER).send("STOP")]
        reply = await race(h.phone(PERSON).send("3"), stall, lambda: asyncio.gather(*others))
        assert reply.messages == ["echo 3"]
        assert stall.reads == 1  # committed at the first attempt
