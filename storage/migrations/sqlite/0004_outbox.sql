-- The durable outbox: every outbound message is stored here before it is sent.
-- status: pending (due at due_at) -> claimed (leased to a worker) -> accepted (Twilio took it),
-- or blocked (the consent/window gate refused it) or failed (permanent error, or retries spent).
-- delivery: Twilio's MessageStatus for the current sid, applied monotonically.
CREATE TABLE outbox (
    id                 TEXT PRIMARY KEY,
    conversation       TEXT,
    flow               TEXT,
    channel            TEXT NOT NULL,
    ours               TEXT NOT NULL,
    theirs             TEXT NOT NULL,
    body               TEXT NOT NULL,
    media              TEXT NOT NULL,
    content_sid        TEXT,
    content_variables  TEXT,
    purpose            TEXT NOT NULL,
    status             TEXT NOT NULL,
    delivery           TEXT,
    attempts           INTEGER NOT NULL DEFAULT 0,
    due_at             TEXT NOT NULL,
    lease_owner        TEXT,
    lease_until        TEXT,
    sid                TEXT,
    error_code         INTEGER,
    error              TEXT,
    segments           INTEGER,
    encoding           TEXT,
    cost               TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, due_at);
CREATE INDEX outbox_lease ON outbox (status, lease_until);
CREATE INDEX outbox_sid ON outbox (sid);

CREATE TABLE outbox_history (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    message  TEXT NOT NULL,
    at       TEXT NOT NULL,
    event    TEXT NOT NULL,
    status   TEXT,
    sid      TEXT,
    code     INTEGER,
    detail   TEXT NOT NULL
);
CREATE INDEX outbox_history_message ON outbox_history (message, id);

CREATE TABLE undeliverable (
    address  TEXT PRIMARY KEY,
    code     INTEGER NOT NULL,
    at       TEXT NOT NULL
);
