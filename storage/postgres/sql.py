"""The SQL of a turn on PostgreSQL: load, contact, and the one-statement commit.

Kept apart from :mod:`storage.postgres.store` (which runs them) because each is one carefully
shaped statement: the commit writes every part of a turn in one round trip and returns the
counts and consent heads that decide whether to COMMIT or roll back.
"""

from __future__ import annotations

import storage.schema as S

__all__ = ["COMMIT", "CONTACT", "LOAD"]

CONVERSATION_COLUMNS = S.columns(S.CONVERSATION)
LOG_COLUMNS = S.columns(S.LOG)
CONSENT_COLUMNS = S.columns(S.CONSENT)
CONTACT = """
SELECT l.id, l.status = 'opted_out',
       (SELECT last_inbound FROM whatsapp_windows WHERE conversation = $3)
FROM (VALUES (1)) AS one (x) LEFT JOIN LATERAL (
    SELECT id, status FROM consent_ledger WHERE person = $2 AND scope = $1
    ORDER BY id DESC LIMIT 1
) AS l ON true
"""
LOAD = f"""
SELECT {S.columns(S.CONVERSATION, "c")},
       (SELECT response FROM idempotency WHERE key = ANY($2::text[]) LIMIT 1)
FROM (VALUES (1)) AS one (x) LEFT JOIN conversations c ON c.key = $1
"""
# A turn's writes as one statement (inside BEGIN … COMMIT): one round trip, and the counts
# tell whether to commit (every key new; the version guard held) or roll back.
COMMIT = f"""
WITH idem AS (
    INSERT INTO idempotency (key, conversation, response, at)
    SELECT k, $1, $2, $3 FROM unnest($4::text[]) AS k
    ON CONFLICT (key) DO NOTHING RETURNING 1
), updated AS (
    UPDATE conversations SET flow = $5, state = $6, data = $7, version = $8, closed = $9,
           updated_at = $3, flow_version = $39, flow_shape = $40, stack = $41
    WHERE $10 AND $8 > 1 AND key = $1 AND version = $8 - 1 RETURNING 1
), inserted AS (
    INSERT INTO conversations ({CONVERSATION_COLUMNS})
    SELECT $1, $5, $6, $7, 1, $9, $11, $12, $13, $3, $3, $39, $40, $41 WHERE $10 AND $8 = 1
    ON CONFLICT (key) DO NOTHING RETURNING 1
), logged AS (
    INSERT INTO message_log ({LOG_COLUMNS})
    SELECT c, d, k, b, t, s, ch, m::jsonb, sb, sa, mt::jsonb
    FROM unnest($14::text[], $15::text[], $16::text[], $17::text[], $18::timestamptz[],
                $19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[])
         AS l (c, d, k, b, t, s, ch, m, sb, sa, mt)
), consented AS (
    INSERT INTO consent_ledger ({CONSENT_COLUMNS})
    SELECT * FROM unnest($25::text[], $26::text[], $27::text[], $28::text[],
                         $29::timestamptz[], $30::text[], $31::text[])
), touched AS (
    INSERT INTO whatsapp_windows (conversation, last_inbound) SELECT $1, $3 WHERE $32
    ON CONFLICT (conversation) DO UPDATE SET last_inbound = excluded.last_inbound
), heads AS (
    SELECT h.n, (SELECT max(id) FROM consent_ledger WHERE person = h.p AND scope = h.s) AS id,
           (SELECT last_inbound FROM whatsapp_windows WHERE conversation = h.w) AS seen
    FROM unnest($33::text[], $34::text[], $35::text[]) WITH ORDINALITY AS h (s, p, w, n)
), dropped AS (
    -- The timer this turn fires goes even if its step rolled back; with the state, every
    -- timer of a closed conversation, or (when it moved) bound to a state it left (a state
    -- of its flow: a subflow's state of the same name is not the caller's).
    -- The timers the turn sets are written after this statement, as on SQLite.
    DELETE FROM timers WHERE (id = $36 AND due_at = $37)
        OR ($10 AND conversation = $1
            AND ($9 OR ($38 AND state IS NOT NULL AND (state <> $6 OR flow <> $5))))
    RETURNING id, name, trigger_name, state, due_at
), dropped_history AS (
    -- each with its history entry (storage.history): fired, or why it was cancelled
    INSERT INTO timer_history (conversation, at, event, name, trigger_name, state, due_at,
                               reason)
    SELECT $1, $3, CASE WHEN id = $36 AND $42::text IS NULL THEN 'fired' ELSE 'cancelled' END,
           name, trigger_name, state, due_at,
           CASE WHEN id = $36 THEN 'operator ' || $42::text
                WHEN $9 THEN 'closed' ELSE 'left state' END
    FROM dropped
)
SELECT (SELECT count(*) FROM idem) AS recorded,
       (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS saved,
       ARRAY(SELECT id FROM heads ORDER BY n) AS ids,
       ARRAY(SELECT seen FROM heads ORDER BY n) AS seen
"""
