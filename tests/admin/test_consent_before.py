"""An operator's consent change records, as its audit entry's ``before``, the ledger entry
that actually precedes it, even when a STOP from another process commits while the change is
under way: the previous status is read in the change's own transaction, under the store's
hold on the conversation (PostgreSQL's advisory lock, across processes).

Deterministic: the change is stalled on its way to the store, another app on the same
database takes the person's STOP meanwhile (on PostgreSQL it waits for the hold), then the
change is let go."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from bot.admin import Operations
from bot.testing import Harness
from storage.programs import Program

from .conftest import console_app

PERSON = "+15550001111"
KEY = "sms:+15550100000:+15550001111"


class StalledRunner:
    """The store, but the first ``run`` waits until released."""

    def __init__(self, store: Any) -> None:
        self.store, self.dialect = store, store.dialect
        self.reached, self.released = asyncio.Event(), asyncio.Event()

    async def run(self, program: Program[Any], **kwargs: Any) -> Any:
        if not self.reached.is_set():
            self.reached.set()
            await self.released.wait()
        return await self.store.run(program, **kwargs)


async def test_the_before_is_the_ledger_entry_preceding_the_change(database: str) -> None:
    async with (
        Harness(console_app, database_url=database) as one,
        Harness(console_app, database_url=database) as two,
    ):
        assert (await one.phone(PERSON).send("hi")).status == 200
        admin = one.runtime.admin
        assert isinstance(admin, Operations)
        stalled = StalledRunner(one.store)
        ops = replace(admin, runner=stalled)
        change = asyncio.ensure_future(ops.set_consent(KEY, "alice", "opted_in"))
        await asyncio.wait_for(stalled.reached.wait(), 10)
        stop = asyncio.ensure_future(two.phone(PERSON).send("STOP"))  # another process
        await asyncio.wait({stop}, timeout=1.0)  # committed, or waiting for the hold
        stalled.released.set()
        await asyncio.wait_for(change, 10)
        await asyncio.wait_for(stop, 10)
        ledger = await one.store.consent_history(PERSON)
        ours = next(i for i, c in enumerate(ledger) if c.source == "operator")
        preceding = str(ledger[ours - 1].status) if ours else None
        shown = await admin.show(KEY)
        consent = [a for a in shown.audit if a.action == "consent"]
        assert len(consent) == 1 and consent[0].before == {"consent": preceding}
        assert [str(c.status) for c in ledger] == (
            ["opted_out", "opted_in"] if ours else ["opted_in", "opted_out"]
        )
