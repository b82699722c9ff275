-- Operating conversations (issue 12): every timer a turn or an operator sets, fires or
-- cancels, written in the same transaction as that turn (the console's timeline shows them).
CREATE TABLE timer_history (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation  TEXT NOT NULL,
    at            TEXT NOT NULL,
    event         TEXT NOT NULL,   -- set, fired, cancelled
    name          TEXT NOT NULL,
    trigger_name  TEXT NOT NULL,
    state         TEXT,
    due_at        TEXT NOT NULL,
    reason        TEXT             -- cancelled: left the state, closed, or "operator <name>"
);
CREATE INDEX timer_history_conversation ON timer_history (conversation, id);

-- The admin list filtered by channel, newest first: without it a channel few conversations
-- use scanned the whole list (bench/admin_search.py: 172 ms on PostgreSQL at a million).
CREATE INDEX conversations_channel ON conversations (channel, updated_at, key);
