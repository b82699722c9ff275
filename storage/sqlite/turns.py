"""Consent ledger and WhatsApp windows on SQLite (mixed into :class:`storage.sqlite.SQLiteStore`).

``read_contact`` also serves the commit: a turn's commit re-reads the heads of the contacts it
decided its replies on and fails with a conflict if one moved (docs/compliance.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from storage.records import OPTED_OUT, ConsentChange, Contact
from storage.sqlite_tx import transaction

__all__ = ["SQLiteConsent", "insert_consent", "read_contact"]

_CONSENT_COLUMNS = "person, scope, status, source, at, channel, detail"


class SQLiteConsent:
    """Consent and window methods; needs the host class's ``_run`` and ``_read``."""

    _run: Callable[..., Any]
    _read: Callable[..., Any]

    async def contact(self, scope: str, person: str, window: str | None) -> Contact:
        contact: Contact = await self._read(read_contact, scope, person, window)
        return contact

    async def record_consent(self, change: ConsentChange) -> None:
        await self._run(transaction, lambda conn: insert_consent(conn, change))

    async def consent_history(self, person: str) -> list[ConsentChange]:
        def read(conn: sqlite3.Connection) -> list[ConsentChange]:
            rows = conn.execute(
                f"SELECT {_CONSENT_COLUMNS} FROM consent_ledger WHERE person = ? ORDER BY id",
                (person,),
            ).fetchall()
            return [
                ConsentChange(p, sc, st, so, datetime.fromisoformat(at), ch, de)
                for p, sc, st, so, at, ch, de in rows
            ]

        changes: list[ConsentChange] = await self._run(read)
        return changes

    async def close_window(self, window: str, at: datetime) -> bool:
        def close(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT last_inbound FROM whatsapp_windows WHERE conversation = ?", (window,)
            ).fetchone()
            if row is not None and row[0] and datetime.fromisoformat(row[0]) > at:
                return False  # they wrote after the failed send: the window is open again
            conn.execute(
                "INSERT INTO whatsapp_windows (conversation, last_inbound, closed_at) "
                "VALUES (?, NULL, ?) ON CONFLICT (conversation) DO UPDATE SET "
                "last_inbound = NULL, closed_at = excluded.closed_at",
                (window, at.isoformat()),
            )
            return row is not None and row[0] is not None

        closed: bool = await self._run(transaction, close)
        return closed


def read_contact(conn: sqlite3.Connection, scope: str, person: str, window: str | None) -> Contact:
    """The person's latest consent entry in ``scope`` and ``window``'s last inbound message;
    the head is the entry's id (0 for none), plus the window's time when one is asked for."""
    row = conn.execute(
        "SELECT id, status FROM consent_ledger WHERE person = ? AND scope = ? "
        "ORDER BY id DESC LIMIT 1",
        (person, scope),
    ).fetchone()
    entry, status = row if row is not None else (0, None)
    last, head = None, str(entry)
    if window is not None:
        found = conn.execute(
            "SELECT last_inbound FROM whatsapp_windows WHERE conversation = ?", (window,)
        ).fetchone()
        last = found[0] if found else None
        head += f"/{last or ''}"
    return Contact(
        status == OPTED_OUT, datetime.fromisoformat(last) if last else None,
        scope=scope, person=person, window=window, head=head,
    )  # fmt: skip


def insert_consent(conn: sqlite3.Connection, change: ConsentChange) -> None:
    conn.execute(
        f"INSERT INTO consent_ledger ({_CONSENT_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
        (change.person, change.scope, change.status, change.source, change.at.isoformat(),
         change.channel, change.detail),
    )  # fmt: skip
