-- Issue 16: the exact request of a message's latest attempt (JSON: To, From, Body after smart
-- encoding or template substitution, ContentSid/ContentVariables, MediaUrl) and when it
-- started, written before Twilio is called, so reconciliation after a timeout or a crash
-- searches for what was really sent, from when it was sent. attempt_at is NULL once the
-- outcome of that attempt is known. http_status keeps the HTTP status of a failure apart
-- from Twilio's error code (error_code holds only a code Twilio gave).
ALTER TABLE outbox ADD COLUMN wire TEXT;
ALTER TABLE outbox ADD COLUMN attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN http_status INTEGER;
-- A person's own time zone for quiet hours (overrides the one their number implies).
CREATE TABLE contact_zones (
    person  TEXT PRIMARY KEY,
    zone    TEXT NOT NULL,
    at      TEXT NOT NULL
);
