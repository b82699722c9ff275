-- The version of its flow each conversation runs (issue 14): the declared number and the
-- definition's structural fingerprint. Rows written before versions existed get 0 and ''
-- ("before versions"), placed by the structural check when next loaded.
-- Mirrors sqlite/0008_flow_versions.sql. A constant default: no table rewrite.
ALTER TABLE conversations ADD COLUMN flow_version integer NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN flow_shape text NOT NULL DEFAULT '';
