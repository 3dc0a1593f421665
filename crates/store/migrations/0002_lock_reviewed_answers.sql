-- Answers and evidence of an assessment change only while the device is its writer
-- (draft, or returned for correction). The Rust API checks this first to give a
-- typed error; these triggers keep any other code path from breaking the rule.

CREATE TRIGGER answers_locked_on_insert
BEFORE INSERT ON answers
WHEN (SELECT status FROM assessments WHERE assessment_id = NEW.assessment_id) NOT IN ('draft', 'returned')
BEGIN
    SELECT RAISE(ABORT, 'assessment is locked');
END;

CREATE TRIGGER answers_locked_on_update
BEFORE UPDATE ON answers
WHEN (SELECT status FROM assessments WHERE assessment_id = OLD.assessment_id) NOT IN ('draft', 'returned')
BEGIN
    SELECT RAISE(ABORT, 'assessment is locked');
END;

CREATE TRIGGER answers_locked_on_delete
BEFORE DELETE ON answers
WHEN (SELECT status FROM assessments WHERE assessment_id = OLD.assessment_id) NOT IN ('draft', 'returned')
BEGIN
    SELECT RAISE(ABORT, 'assessment is locked');
END;

CREATE TRIGGER evidence_locked_on_insert
BEFORE INSERT ON evidence
WHEN (SELECT status FROM assessments WHERE assessment_id = NEW.assessment_id) NOT IN ('draft', 'returned')
BEGIN
    SELECT RAISE(ABORT, 'assessment is locked');
END;

CREATE TRIGGER evidence_locked_on_delete
BEFORE DELETE ON evidence
WHEN (SELECT status FROM assessments WHERE assessment_id = OLD.assessment_id) NOT IN ('draft', 'returned')
BEGIN
    SELECT RAISE(ABORT, 'assessment is locked');
END;
