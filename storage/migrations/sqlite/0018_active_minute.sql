-- Issue 18: the admin recency indexes held updated_at, so every turn moved three index entries
-- (4.4 of a lone commit's 12.3 WAL frames, ~28 us of a turn's CPU). They hold the minute of
-- updated_at instead, which a conversation's turns within one minute leave alone. SQLite
-- rewrites an index whenever one of its columns is in an UPDATE's SET list, whatever the
-- value, so the turn's UPDATE never names active_minute: these triggers set it when the minute
-- changed, for every writer (turns, tools, tests). Lists order by (active_minute, updated_at,
-- key), sorting only within a minute, so their order and cursors stay exact.
ALTER TABLE conversations ADD COLUMN active_minute TEXT;
UPDATE conversations SET active_minute = substr(updated_at, 1, 16);
CREATE TRIGGER conversations_minute_inserted AFTER INSERT ON conversations
WHEN NEW.active_minute IS NOT substr(NEW.updated_at, 1, 16)
BEGIN UPDATE conversations SET active_minute = substr(NEW.updated_at, 1, 16) WHERE rowid = NEW.rowid; END;
CREATE TRIGGER conversations_minute_updated AFTER UPDATE OF updated_at ON conversations
WHEN NEW.active_minute IS NOT substr(NEW.updated_at, 1, 16)
BEGIN UPDATE conversations SET active_minute = substr(NEW.updated_at, 1, 16) WHERE rowid = NEW.rowid; END;
DROP INDEX conversations_open;
CREATE INDEX conversations_open ON conversations (closed, active_minute);
DROP INDEX conversations_state;
CREATE INDEX conversations_state ON conversations (closed, flow, state, active_minute);
DROP INDEX conversations_channel;
CREATE INDEX conversations_channel ON conversations (channel, active_minute)
