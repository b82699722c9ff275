-- Observability (issue 19): the W3C traceparent of the turn that queued a message, so its
-- send's span joins that turn's trace; and an index for the flow analytics
-- (`switchboard stats`) over a short window of a long log (the planner's statistics tell
-- it when a window covers most of the log and a scan is cheaper).
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
CREATE INDEX message_log_at ON message_log (at) WHERE direction = 'in';
