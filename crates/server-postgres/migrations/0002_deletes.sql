-- Version 2 (issue 16, item 5): deletes, as SQLite's migration 0013 (docs/sync-protocol.md,
-- "Deletes"). A tombstone takes the record's row away (an assessment's evidence rows with
-- it); what remains is kept here: the tombstone's version and hash (a replayed tombstone
-- is `already_had`, any later push of the id `record_deleted`), the owning unit and the
-- person (who may push it again, who pulls it). Devices holding the record pull the
-- tombstone: a `record` change of the log holding its body.
CREATE TABLE deleted_records (
    id          text COLLATE "C" PRIMARY KEY,
    -- 0 person, 1 assessment (as `changes.record_kind`).
    record_kind smallint NOT NULL CHECK (record_kind IN (0, 1)),
    unit        text COLLATE "C" NOT NULL,
    -- The person: the record itself, or the assessment's.
    person      text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    hash        text COLLATE "C" NOT NULL,
    device_id   text COLLATE "C" NOT NULL,
    deleted_at  text COLLATE "C" NOT NULL
);
CREATE INDEX deleted_records_person ON deleted_records(person);
