-- Version 8 (issue 9, items 3 and 10): a photo's upload state is kept per device.
--
-- Before, one `blobs` row per sha256 held the upload of whichever device of the unit sent
-- the bytes, its size fixed by the first device to announce the hash, and any evidence
-- record naming a complete blob gave access to it. Now each device that announces a photo
-- in an evidence record uploads it itself (`uploads`, keyed by device and sha256, with the
-- size that device announced), and a record gives access to the photo only once its
-- `uploader` (the device that pushed it with this sha256) has sent every byte of it. The
-- stored photo itself stays content-addressed (`blobs/evidence/..`), written once per
-- verified upload of the same bytes.
CREATE TABLE uploads (
    device_id      TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    -- The resume offset of this device's upload.
    received       INTEGER NOT NULL DEFAULT 0,
    -- Every byte this upload ever kept, so a test can prove nothing was accepted twice.
    accepted_bytes INTEGER NOT NULL DEFAULT 0,
    complete       INTEGER NOT NULL DEFAULT 0,
    -- 1: the pieces are where version 5 kept them (`parts/{sha256}/`), not under the
    -- device (`uploads/{device_id}/{sha256}/`).
    legacy_parts   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, sha256)
);
CREATE INDEX uploads_sha ON uploads(sha256);

-- The device whose upload a record is served through: the device that pushed the record
-- with its current sha256 (an edit that keeps the sha256, e.g. by a collector device,
-- keeps it).
ALTER TABLE evidence ADD COLUMN uploader TEXT NOT NULL DEFAULT '';
UPDATE evidence SET uploader = device_id;

-- Existing uploads: who sent the bytes was not recorded, so each blob is credited to ONE
-- device: the one of the oldest evidence record naming it (the first announcer, whose
-- announcement created the blob row), preferring a record of the blob's size. Its
-- progress (complete or partial, with its pieces where they are) moves to that device.
-- Every other device naming the photo starts an upload of its own from 0: until it sends
-- the bytes, its records give no access. Crediting every naming device instead would have
-- kept the access that item 3 closes for records pushed before this version.
INSERT INTO uploads (device_id, sha256, size, received, accepted_bytes, complete, legacy_parts)
SELECT first.device_id, b.sha256, b.size, b.received, b.accepted_bytes, b.complete, 1
FROM blobs b
JOIN (SELECT e.sha256, e.device_id,
             ROW_NUMBER() OVER (PARTITION BY e.sha256
                                ORDER BY e.size = nb.size DESC, e.rowid) AS n
      FROM evidence e JOIN blobs nb ON nb.sha256 = e.sha256) first
  ON first.sha256 = b.sha256 AND first.n = 1;

INSERT OR IGNORE INTO uploads (device_id, sha256, size)
SELECT device_id, sha256, size FROM evidence ORDER BY rowid;

DROP TABLE blobs;
