-- Durable timers. Mirrors sqlite/0005_timers.sql.
CREATE TABLE timers (
    id            text PRIMARY KEY,
    conversation  text NOT NULL,
    name          text NOT NULL,
    trigger_name  text NOT NULL,
    flow          text NOT NULL,
    state         text,
    channel       text NOT NULL,
    ours          text NOT NULL,
    theirs        text NOT NULL,
    due_at        timestamptz NOT NULL,
    lease_owner   text,
    lease_until   timestamptz,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX timers_due ON timers (due_at);
CREATE INDEX timers_conversation ON timers (conversation);
