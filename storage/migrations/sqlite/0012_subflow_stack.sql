-- The call stack of a conversation running a subflow (issue 15): a JSON list of the callers
-- waiting for it, outermost first (flow, state, data, version). '[]' when no subflow runs,
-- which is every row written before subflows existed.
ALTER TABLE conversations ADD COLUMN stack TEXT NOT NULL DEFAULT '[]';
