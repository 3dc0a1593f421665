-- Version 11 (issue 13): a person's household label, as officers write it
-- (docs/sync-protocol.md, "Person records"). NULL for people pushed before,
-- and while no client that knows the field has set it: a push from a client
-- that does not know it keeps the label held.
ALTER TABLE persons ADD COLUMN household TEXT;

-- The hash of the person as pulled by clients that ask for the label (the
-- body of `sent_hash` with `household`), so a device re-sending the version
-- it pulled gets `already_had`. NULL when no label is held (`sent_hash` is
-- that hash then).
ALTER TABLE persons ADD COLUMN household_hash TEXT;

-- A report groups households by (unit, label), by address without a label:
-- the index it reads gains the label, so a province report still reads no
-- person's row.
DROP INDEX persons_report;
CREATE INDEX persons_report ON persons(unit, id, birth_year, address, household);
