"""A turn on SQLite: load, contact and commit, each a plain function on a connection.

``read_contact`` also serves the commit: a turn's commit re-reads the heads of the contacts it
decided its replies on and fails with a conflict if one moved (docs/compliance.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType

import storage.schema as S
from storage.dialect import SQLITE, dumps
from storage.errors import ConflictError
from storage.records import (
    OPTED_OUT,
    ConsentChange,
    Contact,
    Conversation,
    Loaded,
    LogEntry,
    TurnWrite,
)

__all__ = [
    "READ",
    "Duplicate",
    "Read",
    "insert_consent",
    "load",
    "read_contact",
    "save",
    "write_turn",
]

Read = tuple[int, str, str, bool]  # a conversation's version, flow, state and closed, as read

# The conversations as this process's turns loaded them, set by the store around its commits.
# Where the row is still at the version read (the UPDATE's guard), a column the turn left as
# it was is left out of the UPDATE: SQLite rewrites every index holding a column that an
# UPDATE's SET list names, whatever its value (even ``col = col``), and leaves alone those it
# does not (issue 18: a turn that stays in its state and minute rewrites no admin index).
READ: ContextVar[Mapping[str, Read]] = ContextVar("READ", default=MappingProxyType({}))

_CONVERSATION = f"SELECT {S.columns(S.CONVERSATION)} FROM conversations WHERE key = ?"
_LOG = f"INSERT INTO message_log ({S.columns(S.LOG)}) VALUES ({S.marks(S.LOG)})"
_CONSENT = f"INSERT INTO consent_ledger ({S.columns(S.CONSENT)}) VALUES ({S.marks(S.CONSENT)})"


class Duplicate(Exception):
    """One of the turn's idempotency keys was already recorded: roll the turn back."""

    def __init__(self, response: str) -> None:
        self.response = response


_LOAD = (  # one statement, one row: the stored response (or NULL), whether the conversation
    # has timers, the conversation (or NULLs)
    "SELECT (SELECT response FROM idempotency WHERE key IN ({marks}) LIMIT 1), "
    "EXISTS (SELECT 1 FROM timers WHERE conversation = ?), "
    f"{S.columns(S.CONVERSATION, 'c')} FROM (SELECT 1) LEFT JOIN conversations c ON c.key = ?"
)


def load(conn: sqlite3.Connection, key: str, idem: tuple[str, ...]) -> tuple[Loaded, bool]:
    """The stored response for any of ``idem``, else the conversation ``key``; and whether
    that conversation (at the version read) was seen to have no timers (``False`` when not
    asked: a turn without idempotency keys reads only the conversation)."""
    if not idem:
        found = conn.execute(_CONVERSATION, (key,)).fetchone()
        return Loaded(None, S.conversation(found, SQLITE) if found else None), False
    args = (*idem, key, key)
    row = conn.execute(_LOAD.format(marks=",".join("?" * len(idem))), args).fetchone()
    if row[0] is not None:
        return Loaded(row[0], None), False
    found = S.conversation(row[2:], SQLITE) if row[2] is not None else None
    return Loaded(None, found), not row[1]


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
    """Append one entry to the consent ledger."""
    conn.execute(
        _CONSENT,
        (change.person, change.scope, str(change.status), str(change.source),
         change.at.isoformat(), change.channel, change.detail),
    )  # fmt: skip


def _log_row(entry: LogEntry, now: datetime, at: str) -> tuple[object, ...]:
    """``entry``'s columns; ``at`` is ``now`` formatted (most entries are stamped the turn's
    time: formatted once per turn)."""
    return (
        entry.conversation, entry.direction, entry.kind, entry.body,
        at if entry.at is now else entry.at.isoformat(),
        entry.sid, entry.channel, dumps(list(entry.media)), entry.state_before,
        entry.state_after, dumps(entry.meta),
    )  # fmt: skip


def write_turn(conn: sqlite3.Connection, write: TurnWrite) -> None:
    """The turn's idempotency records, guards, state, log, consent and window (not the
    outbound part): raises :class:`Duplicate` or :class:`ConflictError` to undo it."""
    c, at = write.conversation, write.at.isoformat()
    for idem in write.idempotency_keys:
        cur = conn.execute(
            "INSERT INTO idempotency (key, conversation, response, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            (idem, c.key, write.response, at),
        )
        if cur.rowcount == 0:
            row = conn.execute("SELECT response FROM idempotency WHERE key = ?", (idem,))
            raise Duplicate(row.fetchone()[0])
    for seen in write.contacts:  # BEGIN IMMEDIATE: no other writer until COMMIT
        if read_contact(conn, seen.scope, seen.person, seen.window).head != seen.head:
            raise ConflictError(f"consent or window of {seen.person} changed since read")
    if write.save_state:
        save(conn, c, at)
    conn.executemany(_LOG, [_log_row(entry, write.at, at) for entry in write.log])
    for change in write.consent:
        insert_consent(conn, change)
    if write.touch_window:
        conn.execute(
            "INSERT INTO whatsapp_windows (conversation, last_inbound) VALUES (?, ?) "
            "ON CONFLICT (conversation) DO UPDATE SET last_inbound = excluded.last_inbound",
            (c.key, at),
        )


def save(conn: sqlite3.Connection, c: Conversation, at: str) -> None:
    """Insert version 1, or move ``c`` on from version ``c.version - 1`` (else a conflict)."""
    data = dumps(c.data)
    if c.version == 1:
        cur = conn.execute(  # active_minute named: 0018's trigger then has nothing to do
            f"INSERT INTO conversations ({S.columns(S.CONVERSATION)}, active_minute) "
            f"VALUES ({S.marks(S.CONVERSATION)}, ?) ON CONFLICT (key) DO NOTHING",
            (c.key, c.flow, c.state, data, 1, int(c.closed), c.channel, c.ours, c.theirs,
             at, at, c.flow_version, c.flow_shape, dumps(list(c.stack)), at[:16]),
        )  # fmt: skip
    else:
        read = READ.get().get(c.key)
        kept = (False, False, False)
        if read is not None and read[0] == c.version - 1:
            kept = (read[1] == c.flow, read[2] == c.state, read[3] == c.closed)
        values = (c.flow, c.state, int(c.closed))
        cur = conn.execute(
            _update(*kept),
            (*(v for v, same in zip(values, kept, strict=True) if not same), data, c.version,
             at, c.flow_version, c.flow_shape, dumps(list(c.stack)), c.key, c.version - 1),
        )  # fmt: skip
    if cur.rowcount != 1:
        raise ConflictError(f"conversation {c.key!r} moved past version {c.version - 1}")


@lru_cache(maxsize=8)
def _update(flow_kept: bool, state_kept: bool, closed_kept: bool) -> str:
    """The turn's UPDATE, leaving out each of flow, state and closed it keeps as read."""
    kept = {"flow": flow_kept, "state": state_kept, "closed": closed_kept}
    named = "".join(f"{col} = ?, " for col, same in kept.items() if not same)
    return (
        f"UPDATE conversations SET {named}data = ?, version = ?, updated_at = ?, "
        "flow_version = ?, flow_shape = ?, stack = ? WHERE key = ? AND version = ?"
    )
