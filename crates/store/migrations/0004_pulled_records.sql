-- Pulled records, catalogs, parked photo uploads and the sync credentials.

-- The sync credentials, in the database instead of a side file (sync-device.json):
-- one place to back up and to wipe, written in the same transactions as the rest.
-- The database lives in the app's private data folder, like the file did. The
-- token is never shown or logged; `officer_username` is the officer bound to
-- this device (scope `unit_records`), NULL when none is.
CREATE TABLE sync_credentials (
    singleton         INTEGER PRIMARY KEY CHECK (singleton = 1),
    server_url        TEXT NOT NULL CHECK (length(server_url) > 0),
    -- Not a foreign key: the credentials of a store restored without its units
    -- must still be readable to re-enrol.
    unit_code         TEXT NOT NULL CHECK (length(unit_code) > 0),
    device_id         TEXT NOT NULL,
    device_token      TEXT NOT NULL CHECK (length(device_token) > 0),
    scope             TEXT NOT NULL DEFAULT 'own_records'
                      CHECK (scope IN ('own_records', 'unit_records')),
    officer_username  TEXT,
    updated_at_ms     INTEGER NOT NULL,
    CHECK ((scope = 'unit_records') = (officer_username IS NOT NULL))
);

-- Catalogs installed or corrected on the server (pulled `catalog` changes): the
-- highest revision of each id, as validated JSON. Embedded catalogs are not here;
-- the app merges both with `cdht_core::merge_catalogs`.
CREATE TABLE catalogs (
    catalog_id      TEXT PRIMARY KEY CHECK (length(catalog_id) > 0),
    revision        INTEGER NOT NULL CHECK (revision >= 1),
    catalog_json    TEXT NOT NULL CHECK (json_valid(catalog_json)),
    received_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;

-- A photo of a pulled record stays on the server until somebody opens it: its
-- row exists (size, type) but the file does not (on_device = 0) until fetched.
ALTER TABLE evidence_files ADD COLUMN on_device INTEGER NOT NULL DEFAULT 1
    CHECK (on_device IN (0, 1));

-- Evidence the server already has (pulled): never queued for push again.
ALTER TABLE evidence ADD COLUMN from_server INTEGER NOT NULL DEFAULT 0
    CHECK (from_server IN (0, 1));

-- Pulled people. `unit_code` stays the unit this device joined (and pulls for):
-- a collector device at commune level gets people of child units it never
-- joined, and `units` holds joined units only (server URL, join payload, pull
-- cursor, the app's unit list), so a made-up row there would be a unit the
-- person never joined. The owning unit as the server says goes here instead.
ALTER TABLE people ADD COLUMN server_unit_code TEXT;
-- The server holds a (keyed) CCCD for this person that this device never saw:
-- an edit pushes `keep_cccd: true` with no number so the server keeps it.
ALTER TABLE people ADD COLUMN server_has_cccd INTEGER NOT NULL DEFAULT 0
    CHECK (server_has_cccd IN (0, 1));
-- Pulled with the profile; kept so that pushing an edit does not erase it.
ALTER TABLE people ADD COLUMN phone TEXT;

-- A photo the server refused whole (422 hash_mismatch / invalid_evidence) is
-- parked: not sent again every round, shown to the person until replaced.
ALTER TABLE evidence_uploads ADD COLUMN refused_code TEXT;
ALTER TABLE evidence_uploads ADD COLUMN refused_reason TEXT;
ALTER TABLE evidence_uploads ADD COLUMN refused_at_ms INTEGER;

-- Set when an officer binding widened what this device pulls: the pull starts
-- again from 0, and changes up to here (already delivered under the narrower
-- scope) do not re-apply reviews to assessments this device pushed itself.
ALTER TABLE pull_cursors ADD COLUMN replay_below INTEGER NOT NULL DEFAULT 0
    CHECK (replay_below >= 0);
