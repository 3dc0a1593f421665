-- Version 4: an own-records pull reads only the changes that concern the phone.

-- Before, the pull walked every change after `since` and tested each against the
-- phone's people, so an empty pull cost the size of the log (issue 17). Now each of
-- its parts is an index range: the phone's people through `changes_subject`
-- (subject, seq), and the few changes every device of a unit gets (catalogs, unit
-- updates) through this partial index. It holds only those kinds, so ingesting
-- records (nearly every change) never writes to it. CREATE INDEX covers the rows
-- already there.
CREATE INDEX changes_broadcast ON changes(seq) WHERE kind IN ('catalog', 'unit');
