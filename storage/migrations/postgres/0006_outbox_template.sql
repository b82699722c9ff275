-- The kind of message an outbox row is (e.g. "reminder"), so the gate can send it as the
-- approved WhatsApp template for that kind when the 24-hour window has closed.
-- Mirrors sqlite/0006_outbox_template.sql.
ALTER TABLE outbox ADD COLUMN template text;
