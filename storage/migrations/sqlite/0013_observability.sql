-- Observability (issue 19): the W3C traceparent of the turn that queued a message, so its
-- send's span links to that turn; and an index for the flow analytics (`switchboard stats`),
-- which read a flow's conversations' inbound log entries by time.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
CREATE INDEX message_log_at ON message_log (at) WHERE direction = 'in';
