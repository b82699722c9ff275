-- The call stack of a conversation running a subflow (issue 15): a JSON list of the callers
-- waiting for it, outermost first (flow, state, data, version). '[]' when no subflow runs.
-- Mirrors sqlite/0012_subflow_stack.sql. A constant default: no table rewrite.
ALTER TABLE conversations ADD COLUMN stack jsonb NOT NULL DEFAULT '[]'::jsonb;
