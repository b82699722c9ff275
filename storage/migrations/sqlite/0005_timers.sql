-- Durable timers: fire a flow trigger for a conversation when due, on any instance.
-- A timer bound to a state (state IS NOT NULL) is deleted when its conversation leaves it.
CREATE TABLE timers (
    id            TEXT PRIMARY KEY,
    conversation  TEXT NOT NULL,
    name          TEXT NOT NULL,
    trigger_name  TEXT NOT NULL,
    flow          TEXT NOT NULL,
    state         TEXT,
    channel       TEXT NOT NULL,
    ours          TEXT NOT NULL,
    theirs        TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    lease_owner   TEXT,
    lease_until   TEXT,
    payload       TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX timers_due ON timers (due_at);
CREATE INDEX timers_conversation ON timers (conversation);
