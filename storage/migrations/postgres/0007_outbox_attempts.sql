-- Issue 16: the exact request of a message's latest attempt and when it started (written
-- before Twilio is called), and the HTTP status of a failure apart from Twilio's error code.
-- Mirrors sqlite/0007_outbox_attempts.sql.
ALTER TABLE outbox ADD COLUMN wire jsonb;
ALTER TABLE outbox ADD COLUMN attempt_at timestamptz;
ALTER TABLE outbox ADD COLUMN http_status integer;
-- A person's own time zone for quiet hours (overrides the one their number implies).
CREATE TABLE contact_zones (
    person  text PRIMARY KEY,
    zone    text NOT NULL,
    at      timestamptz NOT NULL
);
