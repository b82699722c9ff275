-- Operating conversations (issue 12). Mirrors sqlite/0010_admin.sql; before/after are jsonb.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL,
    operator      text NOT NULL,
    action        text NOT NULL,
    conversation  text,
    target        text,
    before        jsonb NOT NULL,
    after         jsonb NOT NULL
);
CREATE INDEX audit_log_conversation ON audit_log (conversation, id);

CREATE INDEX conversations_updated ON conversations (updated_at, key);
CREATE INDEX conversations_open ON conversations (closed, updated_at, key);
CREATE INDEX conversations_state ON conversations (closed, flow, state, updated_at);
CREATE INDEX outbox_conversation ON outbox (conversation, created_at);
