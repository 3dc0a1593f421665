-- The sync server's schema, version 1. Times are RFC 3339 UTC text.

-- The Association unit tree, any depth. `area` NULL means "inherit from the parent".
CREATE TABLE units (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    parent     TEXT REFERENCES units(code),
    area       TEXT CHECK (area IN ('normal', 'difficult')),
    join_key   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX units_parent ON units(parent);

-- Enrolled devices; the token is kept only as its sha256.
CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    unit          TEXT NOT NULL REFERENCES units(code),
    label         TEXT,
    token_hash    TEXT NOT NULL UNIQUE,
    last_push_seq INTEGER NOT NULL DEFAULT 0,
    enrolled_at   TEXT NOT NULL
);

CREATE TABLE officers (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE officer_roles (
    officer_id INTEGER NOT NULL REFERENCES officers(id),
    role       TEXT NOT NULL,
    unit       TEXT NOT NULL REFERENCES units(code),
    PRIMARY KEY (officer_id, role, unit)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    officer_id INTEGER NOT NULL REFERENCES officers(id),
    expires_at TEXT NOT NULL
);

-- Applied push batches: the key of idempotency, and the original answer for replays.
CREATE TABLE batches (
    batch_id     TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    applied_at   TEXT NOT NULL
);

-- People. The CCCD itself is never stored: only HMAC-SHA256 under the server secret.
CREATE TABLE persons (
    id         TEXT PRIMARY KEY,
    unit       TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    full_name  TEXT NOT NULL,
    birth_year INTEGER,
    cccd_hmac  TEXT,
    phone      TEXT,
    address    TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX persons_cccd ON persons(cccd_hmac);

CREATE TABLE assessments (
    id            TEXT PRIMARY KEY,
    unit          TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    person        TEXT NOT NULL,
    year          INTEGER NOT NULL,
    catalog       TEXT NOT NULL,
    grp           TEXT NOT NULL,
    answers       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    state         TEXT NOT NULL,
    total         INTEGER NOT NULL,
    passed        INTEGER NOT NULL,
    threshold     INTEGER NOT NULL,
    return_reason TEXT,
    decision_no   TEXT,
    decision_date TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX assessments_unit ON assessments(unit);
CREATE INDEX assessments_person ON assessments(person);

CREATE TABLE evidence (
    id           TEXT PRIMARY KEY,
    unit         TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    assessment   TEXT NOT NULL,
    indicator    TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    version      INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX evidence_sha ON evidence(sha256);

-- Photo bytes, content-addressed. `received` is the resume offset; `accepted_bytes`
-- counts every byte ever kept, so a test can prove nothing was accepted twice.
CREATE TABLE blobs (
    sha256         TEXT PRIMARY KEY,
    size           INTEGER NOT NULL,
    received       INTEGER NOT NULL DEFAULT 0,
    accepted_bytes INTEGER NOT NULL DEFAULT 0,
    complete       INTEGER NOT NULL DEFAULT 0
);

-- What devices pull: review decisions, recognitions, unit updates, per unit.
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    unit TEXT NOT NULL,
    at   TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX changes_unit ON changes(unit, seq);

-- Every change of review state: who, when, what.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    unit       TEXT,
    assessment TEXT,
    from_state TEXT,
    to_state   TEXT,
    detail     TEXT
);

-- Likely duplicates (same keyed CCCD, same year), shown to both units' reviewers.
CREATE TABLE duplicate_flags (
    assessment_a TEXT NOT NULL,
    assessment_b TEXT NOT NULL,
    year         INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (assessment_a, assessment_b)
);
