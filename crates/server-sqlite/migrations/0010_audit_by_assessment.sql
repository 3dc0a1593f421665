-- Version 10 (issue 13, the dashboard): an assessment's last review (who, when) is read
-- when a reviewer opens it, and when a second reviewer is told "already reviewed by …";
-- without this index that read walks the whole audit log.
CREATE INDEX audit_log_assessment ON audit_log(assessment, id);
