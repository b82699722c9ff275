-- Observability (issue 19): the W3C traceparent of the turn that queued a message, so its
-- send's span joins that turn's trace. (The flow analytics read the log in conversation
-- order through message_log_conversation; an index on `at` made SQLite pick a random-access
-- plan four times slower, so there is none here.)
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
