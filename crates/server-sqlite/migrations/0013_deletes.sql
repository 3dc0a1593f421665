-- Version 13 (issue 16, item 5): deletes (docs/sync-protocol.md, "Deletes").
--
-- A person or an assessment entered by mistake may be deleted by a device before review:
-- its last version is a tombstone. The record's row goes (an assessment's evidence rows
-- with it), so every list, queue, report, duplicate group and photo check leaves it out
-- without a condition of its own; what remains is kept here: the tombstone's version and
-- hash (a replayed tombstone is `already_had`, any later push of the id
-- `record_deleted`), the owning unit and the person (who may push it again, who pulls
-- it). Devices that hold the record pull the tombstone: a `record` change of the log
-- holding its body (`changes.body`), sent only to clients naming the `delete` feature.
CREATE TABLE deleted_records (
    id          TEXT PRIMARY KEY,
    -- 0 person, 1 assessment (as `changes.record_kind`).
    record_kind INTEGER NOT NULL CHECK (record_kind IN (0, 1)),
    unit        TEXT NOT NULL,
    -- The person: the record itself, or the assessment's.
    person      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    deleted_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX deleted_records_person ON deleted_records(person);
