-- Issue 18: message_log's ids without AUTOINCREMENT, which wrote the sqlite_sequence page on
-- every turn's commit. An id is still one more than the largest stored: the two differ only
-- when the newest rows are deleted, and nothing deletes from the log (no erasure, no
-- retention; a rolled-back insert rolls its sequence back too). PostgreSQL keeps its identity
-- column. The table is rebuilt, keeping every row and id.
CREATE TABLE message_log_rowid (
    id            INTEGER PRIMARY KEY,
    conversation  TEXT NOT NULL,
    direction     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    body          TEXT NOT NULL,
    at            TEXT NOT NULL,
    sid           TEXT,
    channel       TEXT NOT NULL,
    media         TEXT NOT NULL,
    state_before  TEXT,
    state_after   TEXT,
    meta          TEXT NOT NULL
);
INSERT INTO message_log_rowid
    (id, conversation, direction, kind, body, at, sid, channel, media, state_before,
     state_after, meta)
    SELECT id, conversation, direction, kind, body, at, sid, channel, media, state_before,
           state_after, meta
    FROM message_log ORDER BY id;
DROP TABLE message_log;
ALTER TABLE message_log_rowid RENAME TO message_log;
CREATE INDEX message_log_conversation ON message_log (conversation, id)
