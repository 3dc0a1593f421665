-- Version 5 (issue 9): likely duplicates are no longer stored as pairs, which grew
-- quadratically (2,000 persons with one CCCD made 2 million rows). They are grouped at
-- read time by keyed CCCD and year (persons_cccd, assessments_person), so the table goes.
DROP TABLE IF EXISTS duplicate_flags;
