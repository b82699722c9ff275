-- Conversations, their message log, and idempotency records for webhook retries.
CREATE TABLE conversations (
    key         TEXT PRIMARY KEY,
    flow        TEXT NOT NULL,
    state       TEXT NOT NULL,
    data        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    closed      INTEGER NOT NULL DEFAULT 0,
    channel     TEXT NOT NULL,
    ours        TEXT NOT NULL,
    theirs      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX conversations_theirs ON conversations (theirs);

CREATE TABLE message_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE INDEX message_log_conversation ON message_log (conversation, id);

CREATE TABLE idempotency (
    key           TEXT PRIMARY KEY,
    conversation  TEXT NOT NULL,
    response      TEXT NOT NULL,
    at            TEXT NOT NULL
);
