-- Issue 18: the admin list of open and closed conversations alike is the newest keys of each
-- merged (storage/admin_queries.search: two ranges of conversations_open), so the index on
-- (updated_at, key) alone goes; every turn's commit rewrote an entry of it.
DROP INDEX IF EXISTS conversations_updated
