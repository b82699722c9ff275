-- Human hand-off (issue 13): a conversation in hand-off keeps its record in its data under
-- "_handoff" (bot/flow/handoff.py); the operators' inbox lists the open ones, longest waiting
-- first, from this index (storage/handoff_queries.py uses the same expression).
CREATE INDEX conversations_handoff ON conversations (json_extract(data, '$._handoff.since'))
    WHERE closed = 0 AND json_extract(data, '$._handoff.since') IS NOT NULL;
