-- Version 6 (issue 10): the exemplary Learning Citizen title (công dân học tập tiêu biểu).
-- Recognised years in a row only make a person eligible to be considered; the title is
-- granted by a decision (number, date), like the yearly title, and recorded here: one per
-- person and year. `unit` and `assessment` are those of the person's recognised assessment
-- of that year, so the grant shows in that unit's subtree (audit log, listing).
CREATE TABLE exemplary_titles (
    person        TEXT NOT NULL,
    year          INTEGER NOT NULL,
    unit          TEXT NOT NULL,
    assessment    TEXT NOT NULL,
    decision_no   TEXT NOT NULL,
    decision_date TEXT NOT NULL,
    granted_by    TEXT NOT NULL,
    granted_at    TEXT NOT NULL,
    PRIMARY KEY (person, year)
);
-- The exemplary listing: a subtree's recognised assessments of one year.
CREATE INDEX assessments_year_state ON assessments(year, state);
