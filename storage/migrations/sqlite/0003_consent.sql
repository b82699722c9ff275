-- Consent ledger (append-only: a person's status in a scope is their latest entry) and the
-- WhatsApp 24-hour window per conversation. Portable SQL: the PostgreSQL mirror uses
-- BIGSERIAL/TIMESTAMPTZ for id/at and otherwise the same columns.
CREATE TABLE consent_ledger (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    person   TEXT NOT NULL,
    scope    TEXT NOT NULL,
    status   TEXT NOT NULL CHECK (status IN ('opted_out', 'opted_in')),
    source   TEXT NOT NULL,
    channel  TEXT NOT NULL,
    detail   TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX consent_ledger_person ON consent_ledger (person, scope, id);

CREATE TABLE whatsapp_windows (
    conversation  TEXT PRIMARY KEY,
    last_inbound  TEXT,
    closed_at     TEXT
);
