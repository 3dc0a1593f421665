-- Answers a person saved on this device and had not sent, kept when a
-- pulled record replaces them (docs/sync-protocol.md, "Editing a pulled
-- record": the first edit to reach the server wins, but nothing a person saved
-- is lost silently).

-- The local revision the last queued or pulled state froze (as on `people`):
-- `revision <> synced_revision` means the assessment was edited here since,
-- and those edits are not in the outbox. Set by queuing and by a pulled record.
ALTER TABLE assessments ADD COLUMN synced_revision INTEGER NOT NULL DEFAULT 0;
-- Rows from before: a returned assessment, or a pulled draft, may hold edits
-- nobody sent, and which ones cannot be told now. They count as edited (their
-- answers are kept if a newer version replaces them; the person dismisses them
-- at worst). Anything else is frozen: unsent edits of it are in the outbox.
UPDATE assessments SET synced_revision = CASE
    WHEN sync_version > 0 AND status IN ('draft', 'returned') THEN 0
    ELSE revision
END;

-- One row per replacement: the local answers as they were, as JSON
-- (`cdht_core::Answers`). Photos stay in `evidence`. Deleted once the person
-- has seen them ("Đã xem") or used them again.
CREATE TABLE replaced_answers (
    replaced_id     INTEGER PRIMARY KEY,
    assessment_id   TEXT NOT NULL REFERENCES assessments (assessment_id),
    replaced_at_ms  INTEGER NOT NULL,
    -- The pulled version that replaced them.
    by_version      INTEGER NOT NULL CHECK (by_version >= 1),
    answers_json    TEXT NOT NULL CHECK (json_valid(answers_json))
);
CREATE INDEX replaced_answers_by_assessment ON replaced_answers (assessment_id, replaced_at_ms);
