-- Issue 18: idempotency as one b-tree keyed by key (WITHOUT ROWID). A rowid table with a TEXT
-- primary key is two b-trees, the rows and the key's index, and every turn wrote a page of
-- each. Same columns and constraints as before (PostgreSQL's table is keyed the same way);
-- the rows are copied over.
CREATE TABLE idempotency_keyed (
    key           TEXT PRIMARY KEY,
    conversation  TEXT NOT NULL,
    response      TEXT NOT NULL,
    at            TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO idempotency_keyed (key, conversation, response, at)
    SELECT key, conversation, response, at FROM idempotency;
DROP TABLE idempotency;
ALTER TABLE idempotency_keyed RENAME TO idempotency
