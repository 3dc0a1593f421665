//! Deleting a person or an assessment entered by mistake, before review
//! (docs/sync-protocol.md, "Deletes"). The planner decides
//! ([`cdht_core::sync::merge::plan_delete`]); a record the server never had
//! goes at once, any other is hidden while its tombstone waits in the
//! outbox (no column marks it: the waiting row does). The server's
//! answer is applied with the other acks (`sync.rs`).

use crate::error::{Result, StoreError};
use crate::files::file_path;
use crate::model::{DeleteOutcome, UnixMs};
use crate::rows::outbox::{enqueue, version_u32};
use crate::rows::removal::{deleting, live_assessments, remove_assessment, remove_person};
use crate::sql::now_ms;
use crate::store::Store;
use cdht_core::ids::{AssessmentId, PersonId};
use cdht_core::sync::merge::{plan_delete, DeleteFacts, DeleteOp};
use cdht_core::sync::{Deletable, RecordBody, ReviewState, Tombstone};
use rusqlite::{Connection, OptionalExtension};
use std::fs;

impl Store {
    /// Deletes an assessment entered by mistake: only while it is a draft
    /// or submitted and not reviewed (`Refused(delete_after_review)`), and
    /// not already being deleted (`Refused(record_deleted)`).
    pub fn delete_assessment(&mut self, id: AssessmentId) -> Result<DeleteOutcome> {
        self.delete_record(Deletable::Assessment, &id.to_string())
    }

    /// Deletes a person entered by mistake: only once none of their
    /// assessments is left (`Refused(person_has_assessments)`).
    pub fn delete_person(&mut self, id: PersonId) -> Result<DeleteOutcome> {
        self.delete_record(Deletable::Person, &id.to_string())
    }

    fn delete_record(&mut self, record: Deletable, id: &str) -> Result<DeleteOutcome> {
        let (outcome, unused) = self.with_full_sync(|store| {
            let now = now_ms();
            let tx = store.write_tx()?;
            let result = delete_in(&tx, record, id, now)?;
            tx.commit()?;
            Ok(result)
        })?;
        for sha in unused {
            // After the commit; a file left by a crash is the self-check's.
            let _ = fs::remove_file(file_path(&self.data_dir, &sha));
        }
        Ok(outcome)
    }
}

fn delete_in(
    conn: &Connection,
    record: Deletable,
    id: &str,
    now: UnixMs,
) -> Result<(DeleteOutcome, Vec<String>)> {
    let (table, key, state, kind) = match record {
        Deletable::Person => ("people", "person_id", "NULL", "person"),
        Deletable::Assessment => ("assessments", "assessment_id", "status", "assessment"),
    };
    let held: Option<(i64, Option<String>, bool)> = conn
        .query_row(
            &format!(
                "SELECT sync_version, {state}, {}
                 FROM {table} WHERE {key} = ?1",
                deleting(kind, key)
            ),
            [id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((sync_version, state, deleting)) = held else {
        return Err(StoreError::not_found(
            if record == Deletable::Person {
                "person"
            } else {
                "assessment"
            },
            id,
        ));
    };
    let facts = DeleteFacts {
        sync_version: version_u32(sync_version)?,
        state: state.as_deref().and_then(ReviewState::parse),
        live_assessments: record == Deletable::Person && live_assessments(conn, id)?,
        deleting,
    };
    match plan_delete(&facts) {
        DeleteOp::Refuse(code) => Err(StoreError::Refused(code)),
        DeleteOp::Local => {
            let unused = match record {
                Deletable::Assessment => remove_assessment(conn, id, now)?,
                Deletable::Person => {
                    remove_person(conn, id, now)?;
                    Vec::new()
                }
            };
            Ok((DeleteOutcome::Removed, unused))
        }
        DeleteOp::Send { version } => {
            let tombstone = RecordBody::Tombstone(Tombstone {
                id: id
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("stored id {id}")))?,
                record,
            });
            enqueue(conn, &tombstone, version, now)?;
            conn.execute(
                &format!(
                    "UPDATE {table} SET sync_version = ?2, updated_at_ms = ?3
                     WHERE {key} = ?1"
                ),
                rusqlite::params![id, version, now],
            )?;
            Ok((DeleteOutcome::Queued { version }, Vec::new()))
        }
    }
}
