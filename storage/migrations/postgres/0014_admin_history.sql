-- Operating conversations (issue 12). Mirrors sqlite/0014_admin_history.sql.
CREATE TABLE timer_history (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation  text NOT NULL,
    at            timestamptz NOT NULL,
    event         text NOT NULL,
    name          text NOT NULL,
    trigger_name  text NOT NULL,
    state         text,
    due_at        timestamptz NOT NULL,
    reason        text
);
CREATE INDEX timer_history_conversation ON timer_history (conversation, id);

-- The admin list filtered by channel, newest first: without it a channel few conversations
-- use scanned the whole list (bench/admin_search.py: 172 ms on PostgreSQL at a million).
CREATE INDEX conversations_channel ON conversations (channel, updated_at, key);
