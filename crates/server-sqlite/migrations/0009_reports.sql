-- Version 9 (issue 13): reports, certificates and the review queue.

-- Each indicator's points as the server scored them when the assessment was pushed
-- ("1.1:8,1.2:10,…", in the catalog's order), so a report over a province never has to
-- read and score the answers' JSON again. NULL for rows pushed before this version: a
-- report scores those from `answers`.
ALTER TABLE assessments ADD COLUMN points TEXT;

-- A report reads only this index (one year, a subtree's units): counts by unit, group,
-- state and passed, distinct people, catalogs, indicator points, recognised years.
CREATE INDEX assessments_report
    ON assessments(year, unit, grp, state, passed, person, catalog, points);

-- The review queue: one year and state, newest first, filtered by unit, group and
-- passed without reading the rows.
CREATE INDEX assessments_queue
    ON assessments(year, state, updated_at, id, unit, grp, passed);

-- Households and units' members for a report, without reading the people's rows.
CREATE INDEX persons_report ON persons(unit, id, birth_year, address);

-- A certificate's verification token (random, 128 bits and more, never the assessment
-- id): `GET /v/{token}` tells that the title is genuine. One per recognised assessment.
CREATE TABLE certificates (
    token      TEXT PRIMARY KEY,
    assessment TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
