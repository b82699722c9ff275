-- The durable outbox, its history and undeliverable numbers. Mirrors sqlite/0004_outbox.sql.
CREATE TABLE outbox (
    id                 text PRIMARY KEY,
    conversation       text,
    flow               text,
    channel            text NOT NULL,
    ours               text NOT NULL,
    theirs             text NOT NULL,
    body               text NOT NULL,
    media              jsonb NOT NULL,
    content_sid        text,
    content_variables  text,
    purpose            text NOT NULL,
    status             text NOT NULL,
    delivery           text,
    attempts           integer NOT NULL DEFAULT 0,
    due_at             timestamptz NOT NULL,
    lease_owner        text,
    lease_until        timestamptz,
    sid                text,
    error_code         integer,
    error              text,
    segments           integer,
    encoding           text,
    cost               text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, due_at);
CREATE INDEX outbox_lease ON outbox (status, lease_until);
CREATE INDEX outbox_sid ON outbox (sid);

CREATE TABLE outbox_history (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message  text NOT NULL,
    at       timestamptz NOT NULL,
    event    text NOT NULL,
    status   text,
    sid      text,
    code     integer,
    detail   jsonb NOT NULL
);
CREATE INDEX outbox_history_message ON outbox_history (message, id);

CREATE TABLE undeliverable (
    address  text PRIMARY KEY,
    code     integer NOT NULL,
    at       timestamptz NOT NULL
);
