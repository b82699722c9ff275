-- The version of its flow each conversation runs (issue 14): the declared number and the
-- definition's structural fingerprint. Rows written before versions existed get 0 and ''
-- ("before versions"): the engine places them by the structural check the next time they
-- are loaded (their state exists in the running flow: they continue and are stamped with
-- its version; otherwise the flow's migrations or its lost-conversation policy decide).
ALTER TABLE conversations ADD COLUMN flow_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN flow_shape TEXT NOT NULL DEFAULT '';
