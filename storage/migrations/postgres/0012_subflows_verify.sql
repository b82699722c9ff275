-- The call stack of a conversation running a subflow (issue 15): a JSON list of the callers
-- waiting for it, outermost first (flow, state, data, version). '[]' when no subflow runs.
-- Mirrors sqlite/0012_subflow_stack.sql. A constant default: no table rewrite.
ALTER TABLE conversations ADD COLUMN stack jsonb NOT NULL DEFAULT '[]'::jsonb;

-- Verification codes sent per number (issue 15): see sqlite/0012_subflows_verify.sql.
CREATE TABLE verify_sends (
    person text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    sent integer NOT NULL
);
