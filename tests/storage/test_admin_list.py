"""The admin list of open and closed conversations alike, newest first, paged by cursor: on
both dialects the newest of each merged (``admin_queries.search``) is the one list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from storage import admin_queries as Q
from storage.admin_queries import Cursor, Search
from storage.records import Conversation, TurnWrite

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


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
    d = store.dialect
    for search, keep in (
        (Search, lambda n: True),
        (lambda **kw: Search(state="waiting", **kw), lambda n: n % 3 != 0),
        (lambda **kw: Search(idle_before=T0 + timedelta(minutes=4), **kw), lambda n: n < 8),
    ):
        expected = [k for k in want if keep(int(k[-4:]))]
        seen: list[str] = []
        after = None
        while True:
            page = await store.run(Q.search(d, search(after=after, limit=3)), atomic=False)
            seen += [c.key for c in page]
            if len(page) < 3:
                break
            after = Cursor(page[-1].updated_at, page[-1].key)
        assert seen == expected
