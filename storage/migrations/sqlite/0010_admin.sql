-- Operating conversations (issue 12): the operators' audit log, and indexes that keep the
-- admin API's list and search fast with a million conversations (bench/admin_search.py).
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    operator      TEXT NOT NULL,
    action        TEXT NOT NULL,
    conversation  TEXT,
    target        TEXT,
    before        TEXT NOT NULL,
    after         TEXT NOT NULL
);
CREATE INDEX audit_log_conversation ON audit_log (conversation, id);

-- newest first, paged by (updated_at, key)
CREATE INDEX conversations_updated ON conversations (updated_at, key);
-- open (or closed) ones newest first, and "stuck": open and not updated since a cutoff
CREATE INDEX conversations_open ON conversations (closed, updated_at, key);
-- per-state counts of open conversations, and a flow/state filter, from the index alone
CREATE INDEX conversations_state ON conversations (closed, flow, state, updated_at);
-- a conversation's outbox rows (its page, its change stream)
CREATE INDEX outbox_conversation ON outbox (conversation, created_at);
