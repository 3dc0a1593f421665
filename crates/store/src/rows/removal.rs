//! Records being deleted, and removing a deleted person or assessment for good (docs/sync-protocol.md,
//! "Deletes"): its rows, an assessment's answers, kept answers and evidence
//! rows, and the photo files no other evidence row uses. Outbox rows stay
//! (nothing unacknowledged is ever deleted); refusals of the record still
//! open are settled, since there is nothing left to fix.

use crate::error::Result;
use crate::model::UnixMs;
use rusqlite::Connection;

/// SQL: a tombstone of the record of `kind` whose id is `id` (an SQL
/// expression) waits for the server's answer, so the record is hidden from
/// every list. Nothing else marks it: once answered the row is `acked` (the
/// record removed) or `rejected` (shown again, the refusal listed).
pub(crate) fn deleting(kind: &str, id: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM outbox d WHERE d.record_kind = '{kind}' AND d.record_id = {id}
             AND d.state IN ('pending', 'sent')
             AND json_extract(d.payload_json, '$.kind') = 'tombstone')"
    )
}

/// Whether the person has an assessment on this device that is not being
/// deleted.
pub(crate) fn live_assessments(conn: &Connection, person_id: &str) -> Result<bool> {
    Ok(conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM assessments a
                 WHERE a.person_id = ?1 AND NOT {})",
            deleting("assessment", "a.assessment_id")
        ),
        [person_id],
        |row| row.get(0),
    )?)
}

/// Whether the person has any assessment on this device.
pub(crate) fn any_assessments(conn: &Connection, person_id: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM assessments WHERE person_id = ?1)",
        [person_id],
        |row| row.get(0),
    )?)
}

fn settle(conn: &Connection, kind: &str, id: &str, now: UnixMs) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET resolved_by_pull_at_ms = ?3
         WHERE record_kind = ?1 AND record_id = ?2 AND state = 'rejected'
           AND resolved_by_pull_at_ms IS NULL",
        rusqlite::params![kind, id, now],
    )?;
    Ok(())
}

/// Removes an assessment with its answers and evidence rows. Returns the
/// photos no evidence row uses any more: their file rows are gone, the
/// caller unlinks the files after the commit (a crash before leaves an
/// unreferenced file, which the self-check removes).
pub(crate) fn remove_assessment(conn: &Connection, id: &str, now: UnixMs) -> Result<Vec<String>> {
    let shas = conn
        .prepare("SELECT DISTINCT sha256 FROM evidence WHERE assessment_id = ?1")?
        .query_map([id], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let evidence_ids = conn
        .prepare("SELECT evidence_id FROM evidence WHERE assessment_id = ?1")?
        .query_map([id], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for evidence in &evidence_ids {
        settle(conn, "evidence", evidence, now)?;
    }
    settle(conn, "assessment", id, now)?;
    // The lock triggers (migration 2) guard answers and evidence of an
    // assessment the device does not write; this one is going altogether.
    conn.execute(
        "UPDATE assessments SET status = 'draft' WHERE assessment_id = ?1",
        [id],
    )?;
    conn.execute("DELETE FROM evidence WHERE assessment_id = ?1", [id])?;
    conn.execute("DELETE FROM answers WHERE assessment_id = ?1", [id])?;
    conn.execute(
        "DELETE FROM replaced_answers WHERE assessment_id = ?1",
        [id],
    )?;
    conn.execute("DELETE FROM assessments WHERE assessment_id = ?1", [id])?;
    let mut unused = Vec::new();
    for sha in shas {
        let used: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM evidence WHERE sha256 = ?1)",
            [&sha],
            |row| row.get(0),
        )?;
        if !used {
            conn.execute("DELETE FROM evidence_files WHERE sha256 = ?1", [&sha])?;
            unused.push(sha);
        }
    }
    Ok(unused)
}

/// Removes a person (the caller checked no assessment of theirs is left).
pub(crate) fn remove_person(conn: &Connection, id: &str, now: UnixMs) -> Result<()> {
    settle(conn, "person", id, now)?;
    conn.execute("DELETE FROM people WHERE person_id = ?1", [id])?;
    Ok(())
}
