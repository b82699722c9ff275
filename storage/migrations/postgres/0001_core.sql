-- Conversations, their message log, and idempotency records for webhook retries.
-- Mirrors sqlite/0001_core.sql; JSON columns are jsonb, times are timestamptz.
CREATE TABLE conversations (
    key         text PRIMARY KEY,
    flow        text NOT NULL,
    state       text NOT NULL,
    data        jsonb NOT NULL,
    version     integer NOT NULL,
    closed      boolean NOT NULL DEFAULT false,
    channel     text NOT NULL,
    ours        text NOT NULL,
    theirs      text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX conversations_theirs ON conversations (theirs);

CREATE TABLE message_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation  text NOT NULL,
    direction     text NOT NULL,
    kind          text NOT NULL,
    body          text NOT NULL,
    at            timestamptz NOT NULL,
    sid           text,
    channel       text NOT NULL,
    media         jsonb NOT NULL,
    state_before  text,
    state_after   text,
    meta          jsonb NOT NULL
);
CREATE INDEX message_log_conversation ON message_log (conversation, id);

CREATE TABLE idempotency (
    key           text PRIMARY KEY,
    conversation  text NOT NULL,
    response      text NOT NULL,
    at            timestamptz NOT NULL
);
