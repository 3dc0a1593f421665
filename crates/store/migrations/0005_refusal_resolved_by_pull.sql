-- A push refused as `version_conflict` (another device's edit of the same version
-- won) is settled once the winner has been pulled over the local copy: set then,
-- so a replayed pull of the same version does not replace the record again.
ALTER TABLE outbox ADD COLUMN resolved_by_pull_at_ms INTEGER;
