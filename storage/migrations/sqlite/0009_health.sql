-- One row per probe name, rewritten by every health check: /healthz proves the store takes a
-- write (a read-only database or a full disk fails it) without touching conversation data.
CREATE TABLE IF NOT EXISTS health (
    probe TEXT PRIMARY KEY,
    at TEXT NOT NULL
)
