-- Version 3: devices pull records and catalogs, by scope (docs/sync-protocol.md, "Pull").

-- `changes` is rebuilt because SQLite cannot drop NOT NULL in place: a catalog
-- change belongs to no unit (`unit` NULL reaches every device). `kind` is the
-- change's tag; `subject` the person the change concerns (NULL for unit and
-- catalog changes); `origin` the device whose push caused it (NULL for an
-- officer's or operator's change). seq values are copied, so cursors held by
-- devices stay valid.
CREATE TABLE changes_v3 (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    unit    TEXT,
    kind    TEXT NOT NULL,
    subject TEXT,
    origin  TEXT,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL
);
INSERT INTO changes_v3 (seq, unit, kind, subject, origin, at, body)
SELECT c.seq, c.unit, json_extract(c.body, '$.kind'),
       (SELECT a.person FROM assessments a WHERE a.id = json_extract(c.body, '$.assessment')),
       NULL, c.at, c.body
FROM changes c ORDER BY c.seq;
DROP TABLE changes;
ALTER TABLE changes_v3 RENAME TO changes;
CREATE INDEX changes_unit ON changes(unit, seq);
CREATE INDEX changes_subject ON changes(subject, seq);

-- The people each device pushed: what an `own_records` device may write and pull.
CREATE TABLE device_people (
    device_id TEXT NOT NULL,
    person    TEXT NOT NULL,
    PRIMARY KEY (device_id, person)
);
CREATE INDEX device_people_person ON device_people(person);
INSERT OR IGNORE INTO device_people (device_id, person)
SELECT device_id, id FROM persons;
INSERT OR IGNORE INTO device_people (device_id, person)
SELECT device_id, person FROM assessments;

-- An officer logged in on a device makes it a collector device (`unit_records`).
ALTER TABLE devices ADD COLUMN officer_id INTEGER REFERENCES officers(id);
ALTER TABLE devices ADD COLUMN scope TEXT NOT NULL DEFAULT 'own_records'
    CHECK (scope IN ('own_records', 'unit_records'));

-- The hash of a person record as devices pull it (no CCCD, `keep_cccd`), so a
-- device re-sending the version it pulled gets `already_had`.
ALTER TABLE persons ADD COLUMN sent_hash TEXT;

-- Catalogs installed by `cdht-server catalogs add`: the highest revision of an id.
CREATE TABLE catalogs (
    id       TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    json     TEXT NOT NULL,
    added_at TEXT NOT NULL
);
