-- CDHT local database, schema 1.
-- Conventions: ids are UUIDv7 strings (TEXT); instants are unix milliseconds UTC
-- (INTEGER, columns named *_at_ms); calendar dates (a decision date) are ISO TEXT
-- 'YYYY-MM-DD'; booleans are INTEGER 0/1 with a CHECK.

-- 'CDHT' in ASCII, so a file that is not ours is recognised instead of migrated.
PRAGMA application_id = 1128548436;

-- This installation. One row; the push sequence is a counter that only grows
-- (the server's cursor for this device), never a count of rows.
CREATE TABLE device (
    singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
    device_id      TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    next_push_seq  INTEGER NOT NULL DEFAULT 1 CHECK (next_push_seq >= 1)
);

-- Association units this device joined (by QR code / unit code).
CREATE TABLE units (
    unit_code      TEXT PRIMARY KEY CHECK (length(unit_code) > 0),
    name           TEXT NOT NULL,
    server_url     TEXT NOT NULL,
    join_payload   TEXT NOT NULL CHECK (json_valid(join_payload)),
    joined_at_ms   INTEGER NOT NULL,
    area_type      TEXT NOT NULL CHECK (area_type IN ('normal', 'difficult')),
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
) WITHOUT ROWID;

-- A citizen's own profile (is_self = 1, at most one) or a person an officer collects.
-- Decree 13/2023: birth year only (no full date of birth); the CCCD is kept only
-- with recorded consent, and lists read the masked form.
CREATE TABLE people (
    person_id           TEXT PRIMARY KEY,
    unit_code           TEXT REFERENCES units (unit_code),
    is_self             INTEGER NOT NULL DEFAULT 0 CHECK (is_self IN (0, 1)),
    full_name           TEXT NOT NULL CHECK (length(full_name) > 0),
    -- lowercase, diacritics removed, đ -> d: what search matches against.
    name_folded         TEXT NOT NULL COLLATE NOCASE,
    birth_year          INTEGER CHECK (birth_year BETWEEN 1900 AND 2200),
    gender              TEXT CHECK (gender IN ('female', 'male', 'other')),
    ethnicity           TEXT,
    target_group        TEXT,
    household_label     TEXT,
    household_address   TEXT,
    cccd                TEXT CHECK (cccd IS NULL OR (length(cccd) = 12 AND cccd NOT GLOB '*[^0-9]*')),
    cccd_masked         TEXT,
    cccd_consent        INTEGER NOT NULL DEFAULT 0 CHECK (cccd_consent IN (0, 1)),
    cccd_consent_at_ms  INTEGER,
    revision            INTEGER NOT NULL DEFAULT 1 CHECK (revision >= 1),
    -- Protocol version of the last profile queued for the server (0: never), and
    -- the local revision it froze: a new version is queued only after an edit.
    sync_version        INTEGER NOT NULL DEFAULT 0 CHECK (sync_version >= 0),
    synced_revision     INTEGER NOT NULL DEFAULT 0,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    CHECK (cccd IS NULL OR cccd_consent = 1),
    CHECK ((cccd IS NULL) = (cccd_masked IS NULL)),
    CHECK (cccd_consent = 0 OR cccd_consent_at_ms IS NOT NULL)
);
-- COLLATE NOCASE on the column and the index lets `name_folded LIKE 'x%'` use the index.
CREATE INDEX people_by_name ON people (name_folded);
CREATE INDEX people_by_unit_name ON people (unit_code, name_folded);
CREATE UNIQUE INDEX people_one_self ON people (is_self) WHERE is_self = 1;

-- One assessment per person and year.
CREATE TABLE assessments (
    assessment_id    TEXT PRIMARY KEY,
    person_id        TEXT NOT NULL REFERENCES people (person_id),
    year             INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2200),
    catalog_id       TEXT NOT NULL,
    group_id         TEXT NOT NULL,
    area_type        TEXT NOT NULL CHECK (area_type IN ('normal', 'difficult')),
    status           TEXT NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'submitted', 'approved', 'returned', 'recognised')),
    return_reason    TEXT,
    decision_number  TEXT,
    decision_date    TEXT,
    -- Bumped by every local change (each autosave).
    revision         INTEGER NOT NULL DEFAULT 1 CHECK (revision >= 1),
    -- Protocol version of the last state queued for the server: 1, 2, 3, … one
    -- per submit, so versions count pushed edits, not autosaves.
    sync_version     INTEGER NOT NULL DEFAULT 0 CHECK (sync_version >= 0),
    -- Cache of core's score for lists; NULL until the app stores one.
    total_points     INTEGER,
    passed           INTEGER CHECK (passed IN (0, 1)),
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    submitted_at_ms  INTEGER,
    CHECK (status <> 'returned' OR return_reason IS NOT NULL),
    CHECK (status <> 'recognised' OR (decision_number IS NOT NULL AND decision_date IS NOT NULL)),
    UNIQUE (person_id, year)
);
CREATE INDEX assessments_by_year_status ON assessments (year, status);

-- One row per answered indicator: points or an answer level, never both.
CREATE TABLE answers (
    assessment_id  TEXT NOT NULL REFERENCES assessments (assessment_id),
    indicator_id   TEXT NOT NULL CHECK (length(indicator_id) > 0),
    points         INTEGER CHECK (points >= 0),
    level_id       TEXT,
    updated_at_ms  INTEGER NOT NULL,
    CHECK ((points IS NULL) <> (level_id IS NULL)),
    PRIMARY KEY (assessment_id, indicator_id)
) WITHOUT ROWID;

-- Photo content, one row per distinct file: <data>/evidence/<sha[0..2]>/<sha>.jpg.
CREATE TABLE evidence_files (
    sha256         TEXT PRIMARY KEY CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    mime           TEXT NOT NULL,
    byte_size      INTEGER NOT NULL CHECK (byte_size > 0),
    width_px       INTEGER CHECK (width_px > 0),
    height_px      INTEGER CHECK (height_px > 0),
    created_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;

-- A use of a photo as evidence for one indicator. The same file may back many rows;
-- it is deleted only when no row uses it.
CREATE TABLE evidence (
    evidence_id    TEXT PRIMARY KEY,
    assessment_id  TEXT NOT NULL REFERENCES assessments (assessment_id),
    indicator_id   TEXT NOT NULL CHECK (length(indicator_id) > 0),
    sha256         TEXT NOT NULL REFERENCES evidence_files (sha256),
    taken_at_ms    INTEGER,
    created_at_ms  INTEGER NOT NULL,
    UNIQUE (assessment_id, indicator_id, sha256)
);
CREATE INDEX evidence_by_sha256 ON evidence (sha256);

-- Push batches (protocol: a batch id and a per-device sequence number, both made
-- when the batch is frozen and kept for every retry).
CREATE TABLE push_batches (
    batch_id       TEXT PRIMARY KEY,
    push_seq       INTEGER NOT NULL UNIQUE CHECK (push_seq >= 1),
    state          TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'answered', 'abandoned')),
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;
-- At most one batch is open: it is retried as it is until answered.
CREATE UNIQUE INDEX push_batches_one_open ON push_batches (state) WHERE state = 'open';

-- Records to push, one row per record version. The payload (the record body's
-- canonical JSON) is frozen at enqueue time; a later edit is a new version and a
-- new row. Rows leave only once the server acknowledged them.
CREATE TABLE outbox (
    outbox_id       INTEGER PRIMARY KEY,
    record_kind     TEXT NOT NULL CHECK (record_kind IN ('person', 'assessment', 'evidence')),
    record_id       TEXT NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    payload_json    TEXT NOT NULL CHECK (json_valid(payload_json)),
    content_sha256  TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'acked', 'rejected')),
    batch_id        TEXT REFERENCES push_batches (batch_id),
    reject_code     TEXT,
    reject_reason   TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    CHECK (state <> 'rejected' OR reject_reason IS NOT NULL),
    CHECK (state = 'pending' OR batch_id IS NOT NULL),
    UNIQUE (record_kind, record_id, version)
);
CREATE INDEX outbox_by_state ON outbox (state, outbox_id);
CREATE INDEX outbox_by_batch ON outbox (batch_id, outbox_id);

-- The database itself refuses to change what is being sent or to drop what the
-- server has not acknowledged, whatever the Rust code above it does.
CREATE TRIGGER outbox_payload_frozen
BEFORE UPDATE OF record_kind, record_id, version, payload_json, content_sha256 ON outbox
BEGIN
    SELECT RAISE(ABORT, 'outbox payload is frozen');
END;

CREATE TRIGGER outbox_keep_unacked
BEFORE DELETE ON outbox
WHEN OLD.state <> 'acked'
BEGIN
    SELECT RAISE(ABORT, 'outbox row not acknowledged by the server');
END;

-- Where each unit's pull stopped: the server's change sequence (never a count).
CREATE TABLE pull_cursors (
    unit_code      TEXT PRIMARY KEY REFERENCES units (unit_code),
    cursor         INTEGER NOT NULL CHECK (cursor >= 0),
    updated_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;

-- Resumable photo uploads: bytes the server confirmed, so a dropped link resumes
-- there instead of restarting from zero.
CREATE TABLE evidence_uploads (
    sha256           TEXT PRIMARY KEY REFERENCES evidence_files (sha256) ON DELETE CASCADE,
    bytes_acked      INTEGER NOT NULL DEFAULT 0 CHECK (bytes_acked >= 0),
    completed_at_ms  INTEGER,
    updated_at_ms    INTEGER NOT NULL
) WITHOUT ROWID;
