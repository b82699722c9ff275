"""The admin list of open and closed conversations alike, newest first, paged by cursor: on
both dialects the newest of each merged (``admin_queries.search``) is the one list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from storage import admin_queries as Q
from storage.admin_queries import Cursor, Search
from storage.records import Conversation, TurnWrite

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def _every_page(store: Any, search: Any, size: int) -> list[str]:
    """The keys of every page of ``search``, following the cursors, ``size`` a page."""
    seen: list[str] = []
    after = None
    while True:
        page = await store.run(Q.search(store.dialect, search(after=after, limit=size)),
                               atomic=False)  # fmt: skip
        seen += [c.key for c in page]
        if len(page) < size:
            return seen
        after = Cursor(page[-1].updated_at, page[-1].key)


async def test_open_and_closed_pages_merge_newest_first(store: Any) -> None:
    # the same instant for some, so the key breaks ties; open and closed interleaved
    stamps = [T0 + timedelta(minutes=n // 2) for n in range(13)]
    for n, at in enumerate(stamps):
        state = "waiting" if n % 3 else "done"
        c = Conversation(f"sms:+15550100000:+1555000{n:04d}", "notify", state, {}, 1, "sms",
                         "+15550100000", f"+1555000{n:04d}", closed=n % 3 == 0)  # fmt: skip
        await store.commit(TurnWrite(c, (), (f"SM{n}",), "<Response/>", at))
    want = [
        f"sms:+15550100000:+1555000{n:04d}"
        for n in sorted(range(13), key=lambda n: (stamps[n], n), reverse=True)
    ]
    for search, keep in (
        (Search, lambda n: True),
        (lambda **kw: Search(state="waiting", **kw), lambda n: n % 3 != 0),
        (lambda **kw: Search(idle_before=T0 + timedelta(minutes=4), **kw), lambda n: n < 8),
    ):
        expected = [k for k in want if keep(int(k[-4:]))]
        assert await _every_page(store, search, 3) == expected


async def test_the_order_is_exact_within_a_minute_and_across_minutes(store: Any) -> None:
    """The indexes hold the minute of updated_at (migration 0018); the list still orders by
    the exact time, pages across a minute's edge, and cuts "idle" inside a minute."""
    seconds = [5, 70, 12, 59, 61, 130, 0, 95, 118, 33]  # committed out of order
    for n, s in enumerate(seconds):
        c = Conversation(f"sms:+15550100000:+1555001{n:04d}", "notify", "waiting", {}, 1, "sms",
                         "+15550100000", f"+1555001{n:04d}", closed=n % 4 == 0)  # fmt: skip
        await store.commit(TurnWrite(c, (), (f"SMm{n}",), "<Response/>", T0 + timedelta(seconds=s)))
    newest = sorted(range(len(seconds)), key=lambda n: seconds[n], reverse=True)
    d = store.dialect
    for search, keep in (
        (Search, lambda n: True),
        (lambda **kw: Search(closed=False, **kw), lambda n: n % 4 != 0),
        (lambda **kw: Search(channel="sms", **kw), lambda n: True),
        (lambda **kw: Search(idle_before=T0 + timedelta(seconds=65), **kw),
         lambda n: seconds[n] < 65),
    ):  # fmt: skip
        expected = [f"sms:+15550100000:+1555001{n:04d}" for n in newest if keep(n)]
        assert await _every_page(store, search, 2) == expected
    counts = await store.run(Q.state_counts(d, T0 + timedelta(seconds=65)), atomic=False)
    (waiting,) = [c for c in counts if c.flow == "notify" and c.state == "waiting"]
    assert (waiting.open, waiting.idle) == (7, 4)  # open: n % 4 != 0; of them, before 1:05
