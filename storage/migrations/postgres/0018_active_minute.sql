-- Issue 18: the admin recency indexes held updated_at, so every turn moved three index entries
-- (and no turn's UPDATE could be HOT). They hold the minute of updated_at instead, a stored
-- generated column: within a minute its value does not change, and PostgreSQL leaves an index
-- alone when the indexed values are the same. Lists order by (active_minute, updated_at, key),
-- so their order and cursors stay exact.
ALTER TABLE conversations ADD COLUMN active_minute timestamp
    GENERATED ALWAYS AS (date_trunc('minute', updated_at AT TIME ZONE 'UTC')) STORED;
DROP INDEX conversations_open;
CREATE INDEX conversations_open ON conversations (closed, active_minute);
DROP INDEX conversations_state;
CREATE INDEX conversations_state ON conversations (closed, flow, state, active_minute);
DROP INDEX conversations_channel;
CREATE INDEX conversations_channel ON conversations (channel, active_minute);
