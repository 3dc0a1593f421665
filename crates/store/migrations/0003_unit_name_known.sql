-- Offline, joining by QR code or typed unit code only tells the device the unit's
-- code: its name (and area type) arrive with the first sync. `name_known = 0` marks
-- a unit whose `name` is still the code standing in for it; a join that knows the
-- name, or a pulled unit change, sets it to 1, and an unnamed re-join never
-- overwrites a known name.
ALTER TABLE units ADD COLUMN name_known INTEGER NOT NULL DEFAULT 1 CHECK (name_known IN (0, 1));

-- Before this migration the app stored the code as the name of a unit joined offline.
UPDATE units SET name_known = 0 WHERE name = unit_code;
