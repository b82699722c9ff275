-- One row per probe name, rewritten by every health check: /healthz proves the store takes a
-- write without touching conversation data. Mirrors sqlite/0009_health.sql.
CREATE TABLE IF NOT EXISTS health (
    probe text PRIMARY KEY,
    at timestamptz NOT NULL
);
