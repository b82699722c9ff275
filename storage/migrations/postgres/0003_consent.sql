-- Consent ledger (append-only: a person's status in a scope is their latest entry) and the
-- WhatsApp 24-hour window per conversation. Mirrors sqlite/0003_consent.sql.
CREATE TABLE consent_ledger (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person   text NOT NULL,
    scope    text NOT NULL,
    status   text NOT NULL CHECK (status IN ('opted_out', 'opted_in')),
    source   text NOT NULL,
    channel  text NOT NULL,
    detail   text NOT NULL,
    at       timestamptz NOT NULL
);
CREATE INDEX consent_ledger_person ON consent_ledger (person, scope, id);

CREATE TABLE whatsapp_windows (
    conversation  text PRIMARY KEY,
    last_inbound  timestamptz,
    closed_at     timestamptz
);
