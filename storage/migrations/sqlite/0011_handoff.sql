-- Human hand-off (issue 13): a conversation in hand-off keeps its record in its data under
-- "_handoff" (bot/flow/handoff.py); the operators' inbox lists the open ones, longest waiting
-- first, from this index (storage/handoff_queries.py uses the same expression).
CREATE INDEX conversations_handoff ON conversations (json_extract(data, '$._handoff.since'))
    WHERE closed = 0 AND json_extract(data, '$._handoff.since') IS NOT NULL;

-- Notifications about hand-offs (a signed webhook, bot/outbound/notices.py): one row per
-- hand-off and event ("handed_off", "waiting"), inserted once, sent and retried from here.
CREATE TABLE handoff_notices (
    handoff       TEXT NOT NULL,
    event         TEXT NOT NULL,
    conversation  TEXT NOT NULL,
    payload       TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       TEXT NOT NULL,
    lease_until   TEXT,
    sent_at       TEXT,
    error         TEXT,
    PRIMARY KEY (handoff, event)
);
CREATE INDEX handoff_notices_due ON handoff_notices (next_at) WHERE sent_at IS NULL;
