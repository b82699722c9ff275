-- The call stack of a conversation running a subflow (issue 15): a JSON list of the callers
-- waiting for it, outermost first (flow, state, data, version). '[]' when no subflow runs,
-- which is every row written before subflows existed.
ALTER TABLE conversations ADD COLUMN stack TEXT NOT NULL DEFAULT '[]';

-- Verification codes sent per number (issue 15), the application's own limit, stricter than
-- Twilio Verify's: one row per number, counting sends in the window that began at
-- window_start. Never a code: only how many were sent and when the window began.
CREATE TABLE verify_sends (
    person TEXT PRIMARY KEY,
    window_start TEXT NOT NULL,
    sent INTEGER NOT NULL
);
