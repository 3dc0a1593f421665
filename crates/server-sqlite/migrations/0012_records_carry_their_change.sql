-- Version 12 (issue 17, item 3): a record's first store is no row of the change log.
--
-- Before, every accepted record version appended a `changes` row (and a `changes_subject`
-- entry), 350 bytes per person and assessment pair, most of what an ingest wrote beyond
-- the records themselves. Now the change that first stores a record is carried by the
-- record's row: `added_seq` is its position in the change log, and a pull reads
-- records by it (docs/sync-protocol.md, "Pull"). Later versions of a record, reviews,
-- recognitions, unit and catalog changes are `changes` rows as before, so a pull returns
-- exactly what it returned: the same changes at the same positions, a device's cursor
-- means the same place.
--
-- What the first change reported is kept with it: `added_difficult` (the owning unit's
-- area when stored, 1 difficult), and, only once the row is written again (so an ingest
-- stores no byte of them), `added_by` (the device that pushed it first, while `device_id`
-- is the last one) and `added_at` (when, while `updated_at` moves).

-- Change log positions come from one counter, taken inside the writing transaction: the
-- transaction that takes position n holds the counter until it commits, so no position
-- below one a reader saw can commit later (one writer on SQLite; a row lock on a server
-- database). It starts after every position given so far.
CREATE TABLE change_counter (last INTEGER NOT NULL);
INSERT INTO change_counter (last)
SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0),
           COALESCE((SELECT MAX(seq) FROM changes), 0));

ALTER TABLE persons ADD COLUMN added_seq INTEGER;
ALTER TABLE persons ADD COLUMN added_difficult INTEGER;
ALTER TABLE persons ADD COLUMN added_by TEXT;
ALTER TABLE persons ADD COLUMN added_at;
ALTER TABLE assessments ADD COLUMN added_seq INTEGER;
ALTER TABLE assessments ADD COLUMN added_difficult INTEGER;
ALTER TABLE assessments ADD COLUMN added_by TEXT;
ALTER TABLE assessments ADD COLUMN added_at;
ALTER TABLE evidence ADD COLUMN added_seq INTEGER;
ALTER TABLE evidence ADD COLUMN added_difficult INTEGER;
ALTER TABLE evidence ADD COLUMN added_by TEXT;
ALTER TABLE evidence ADD COLUMN added_at;

-- Each record's first change (since migration 0007 changes name their record; older ones
-- hold a copy and stay). SQLite gives the other columns of the row of MIN(seq).
CREATE TEMP TABLE first_changes AS
SELECT record_kind AS kind, COALESCE(record, subject) AS id, MIN(seq) AS seq, difficult,
       origin, at
FROM changes WHERE body IS NULL GROUP BY record_kind, COALESCE(record, subject);
CREATE INDEX temp.first_changes_record ON first_changes(kind, id);

UPDATE persons SET added_seq = f.seq, added_difficult = f.difficult, added_at = f.at,
    added_by = NULLIF(f.origin, persons.device_id)
FROM first_changes f WHERE f.kind = 0 AND f.id = persons.id;
UPDATE assessments SET added_seq = f.seq, added_difficult = f.difficult, added_at = f.at,
    added_by = NULLIF(f.origin, assessments.device_id)
FROM first_changes f WHERE f.kind = 1 AND f.id = assessments.id;
UPDATE evidence SET added_seq = f.seq, added_difficult = f.difficult, added_at = f.at,
    added_by = NULLIF(f.origin, evidence.device_id)
FROM first_changes f WHERE f.kind = 2 AND f.id = evidence.id;
DELETE FROM changes WHERE seq IN (SELECT seq FROM first_changes);
DROP TABLE first_changes;

-- A unit-records pull walks each table by position; an own-records pull finds its
-- people's assessments by person (`assessments_person`) and their evidence by assessment.
CREATE INDEX persons_added ON persons(added_seq);
CREATE INDEX assessments_added ON assessments(added_seq);
CREATE INDEX evidence_added ON evidence(added_seq);
CREATE INDEX evidence_assessment ON evidence(assessment);

-- Issue 13's indexes, narrowed: the review trail's index holds only the reviews a
-- reviewer is shown (detail.rs), not the `push` row every submitted assessment adds; the
-- exemplary listing's (year, state) is the start of `assessments_queue`.
DROP INDEX audit_log_assessment;
CREATE INDEX audit_log_assessment ON audit_log(assessment, id)
    WHERE action IN ('approve', 'return', 'recognise');
DROP INDEX assessments_year_state;
-- Likely duplicates are looked up by a keyed CCCD, never by its absence: people without
-- one (children, the old, who have none yet) are no entries.
DROP INDEX persons_cccd;
CREATE INDEX persons_cccd ON persons(cccd_hmac) WHERE cccd_hmac IS NOT NULL;

-- An assessment's points as one byte per indicator (sqlite/points.rs), after two naming
-- the list of indicator ids they follow: 12 bytes instead of 49 for a catalog of ten,
-- in the row and in `assessments_report`. Points kept as text before stay text.
CREATE TABLE points_layouts (
    id         INTEGER PRIMARY KEY,
    indicators TEXT NOT NULL UNIQUE
);
