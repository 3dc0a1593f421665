-- Version 7 (issue 17): a pushed record's change refers to the stored record instead
-- of holding a second copy of it, which was 40 % of the bytes an ingest stored.

-- `changes` is rebuilt because SQLite cannot drop NOT NULL in place: a record
-- change has no `body`. It names the record (`record_kind` 0 person, 1 assessment,
-- 2 evidence; `record` its id, NULL for a person: the subject), and a pull sends the
-- record as the server holds it then (its current version), rebuilt from its row.
-- `unit` is NULL: the row holds the owning unit, which never changes. `at` is Unix
-- milliseconds (a pull writes it out as RFC 3339, as before). `difficult` is the owning unit's area type when the
-- record was stored (1 difficult, 0 normal), as the change reports it. Changes
-- written before keep their body, so pulls return exactly what they returned; seq
-- values are copied, so cursors stay valid.
CREATE TABLE changes_v6 (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    unit        TEXT,
    kind        TEXT NOT NULL,
    subject     TEXT,
    origin      TEXT,
    -- No declared type, so no affinity: text stays text, milliseconds an integer.
    at          NOT NULL,
    body        TEXT,
    record_kind INTEGER,
    record      TEXT,
    difficult   INTEGER,
    CHECK (body IS NOT NULL OR (record_kind IN (0, 1, 2) AND difficult IS NOT NULL
        AND (record IS NOT NULL OR subject IS NOT NULL)))
);
INSERT INTO changes_v6 (seq, unit, kind, subject, origin, at, body)
SELECT seq, unit, kind, subject, origin, at, body FROM changes ORDER BY seq;
DROP TABLE changes;
ALTER TABLE changes_v6 RENAME TO changes;
-- (unit, seq) was never used by a query: a unit-records pull walks seq.
CREATE INDEX changes_subject ON changes(subject, seq);
CREATE INDEX changes_broadcast ON changes(seq) WHERE kind IN ('catalog', 'unit');

-- From now on the record hashes (`hash`, `sent_hash`) of persons, assessments and
-- evidence are written as their 32 bytes instead of 64 characters of hex; rows
-- written before keep their text, and both are read as hex.

-- What a pulled assessment is rebuilt from: the rest is in its columns (the state
-- the device set is `draft` when the review state is, `submitted` otherwise, since
-- only submitted assessments are reviewed).
ALTER TABLE assessments ADD COLUMN device_total INTEGER;

-- Rebuilt without a rowid: the primary key is the table, not a second copy of it;
-- `device_people_person` was never used by a query (all go by device).
CREATE TABLE device_people_v6 (
    device_id TEXT NOT NULL,
    person    TEXT NOT NULL,
    PRIMARY KEY (device_id, person)
) WITHOUT ROWID;
INSERT INTO device_people_v6 (device_id, person) SELECT device_id, person FROM device_people;
DROP TABLE device_people;
ALTER TABLE device_people_v6 RENAME TO device_people;
