//! Applying a page of pulled changes, and where the last pull stopped.

use crate::assessments::apply_review_in;
use crate::error::{Result, StoreError};
use crate::model::{PullOutcome, Review};
use crate::pull::{apply_record, save_catalog, Owner, RecordOutcome, Scorer};
use crate::sql::now_ms;
use crate::store::Store;
use cdht_core::ids::{AssessmentId, UnitCode};
use cdht_core::sync::{Change, PullResponse, ReviewState};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};

impl Store {
    /// Where the last pull of `unit_code` stopped (0: never pulled).
    pub fn pull_cursor(&self, unit_code: &UnitCode) -> Result<u64> {
        Ok(self
            .conn
            .query_row(
                "SELECT cursor FROM pull_cursors WHERE unit_code = ?1",
                [unit_code.as_str()],
                |row| row.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Applies one pull page and moves the cursor, in one transaction, so a crash
    /// never skips a change or applies one twice. A change that contradicts the
    /// local state is skipped and counted, never blocking the rest.
    ///
    /// `record` changes (see `pull.rs`): unknown records are inserted under
    /// `unit_code` (the joined unit; the server's owning unit is kept in
    /// `people.server_unit_code`); a known one is replaced only by a higher
    /// version when this device has no unacknowledged edit of it; with one,
    /// the page stops before that change (`PullOutcome::deferred`: the next
    /// round pushes first, then pulls it again). A pulled
    /// assessment whose person is unknown, or evidence whose assessment is
    /// unknown, is skipped. Evidence photos are not on the device
    /// ([`Evidence::on_device`](crate::Evidence)) until fetched. `catalog`
    /// changes are validated and kept when their revision is higher.
    pub fn apply_pull(&mut self, unit_code: &UnitCode, page: &PullResponse) -> Result<PullOutcome> {
        let now = now_ms();
        let mut tx = self.write_tx()?;
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM units WHERE unit_code = ?1)",
            [unit_code.as_str()],
            |row| row.get(0),
        )?;
        if !known {
            return Err(StoreError::not_found("unit", unit_code));
        }
        let replay_below: u64 = tx
            .query_row(
                "SELECT replay_below FROM pull_cursors WHERE unit_code = ?1",
                [unit_code.as_str()],
                |row| row.get(0),
            )
            .optional()?
            .unwrap_or(0);
        let mut scorer = Scorer::new();
        let mut outcome = PullOutcome::default();
        // Where the page stops when a change waits for this device's push.
        let mut stop_before: Option<u64> = None;
        for change in &page.changes {
            let (assessment, review): (AssessmentId, Review) = match &change.change {
                Change::Record { unit, area, record } => {
                    let owner = Owner {
                        joined: unit_code,
                        server_unit: unit,
                        area: *area,
                    };
                    // One savepoint per record: a record that cannot be applied
                    // leaves nothing half-written and does not stop the page.
                    let sp = tx.savepoint()?;
                    match apply_record(&sp, &owner, record, &mut scorer, now) {
                        Ok(
                            applied @ (RecordOutcome::Applied | RecordOutcome::KeptLocalAnswers),
                        ) => {
                            sp.commit()?;
                            outcome.applied += 1;
                            if applied == RecordOutcome::KeptLocalAnswers {
                                outcome.replaced_local_edits += 1;
                            }
                        }
                        Ok(RecordOutcome::Skipped) => outcome.skipped += 1,
                        Ok(RecordOutcome::Deferred) => {
                            outcome.skipped += 1;
                            outcome.deferred = true;
                            stop_before = Some(change.seq);
                            break;
                        }
                        Err(
                            StoreError::Conflict(_)
                            | StoreError::InvalidInput(_)
                            | StoreError::Locked { .. },
                        ) => outcome.skipped += 1,
                        Err(other) => return Err(other),
                    }
                    continue;
                }
                Change::Catalog { catalog } => {
                    let sp = tx.savepoint()?;
                    match save_catalog(&sp, catalog, &mut scorer, now) {
                        Ok(true) => {
                            sp.commit()?;
                            outcome.applied += 1;
                        }
                        Ok(false) => outcome.skipped += 1,
                        Err(StoreError::InvalidInput(_) | StoreError::Conflict(_)) => {
                            outcome.skipped += 1;
                        }
                        Err(other) => return Err(other),
                    }
                    continue;
                }
                Change::Review {
                    assessment,
                    state,
                    reason,
                } => match state {
                    ReviewState::Approved => (*assessment, Review::Approved),
                    ReviewState::Returned => (
                        *assessment,
                        Review::Returned {
                            reason: reason.clone().unwrap_or_else(|| "—".to_owned()),
                        },
                    ),
                    ReviewState::Recognised | ReviewState::Draft | ReviewState::Submitted => {
                        // Device-side states (or a recognition without its
                        // decision): nothing for the device to apply.
                        outcome.skipped += 1;
                        continue;
                    }
                },
                Change::Recognition {
                    assessment,
                    decision_no,
                    decision_date,
                } => {
                    let date = decision_date
                        .get(..10)
                        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                    let Some(decision_date) = date else {
                        outcome.skipped += 1;
                        continue;
                    };
                    (
                        *assessment,
                        Review::Recognised {
                            decision_number: decision_no.clone(),
                            decision_date,
                        },
                    )
                }
                Change::Unit { unit } => {
                    let changed = tx.execute(
                        "UPDATE units SET name = ?2, area_type = ?3, name_known = 1 WHERE unit_code = ?1",
                        (unit.code.as_str(), &unit.name, unit.area.as_str()),
                    )?;
                    if changed == 0 {
                        outcome.not_held += 1;
                    } else {
                        outcome.applied += 1;
                    }
                    continue;
                }
            };
            if change.seq <= replay_below && pushed_here(&tx, assessment)? {
                // Pulled again after an officer binding restarted the pull:
                // this device already got this decision, and its state may
                // have moved on since (resubmitted).
                outcome.skipped += 1;
                continue;
            }
            match apply_review_in(&tx, assessment, &review, now) {
                Ok(_) => outcome.applied += 1,
                Err(StoreError::NotFound { .. }) => outcome.not_held += 1,
                Err(StoreError::Conflict(_) | StoreError::InvalidInput(_)) => {
                    outcome.skipped += 1;
                }
                Err(other) => return Err(other),
            }
        }
        tx.execute(
            "INSERT INTO pull_cursors (unit_code, cursor, updated_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (unit_code) DO UPDATE SET
                 cursor = max(cursor, excluded.cursor), updated_at_ms = excluded.updated_at_ms",
            rusqlite::params![
                unit_code.as_str(),
                stop_before.map_or(page.cursor, |seq| seq.saturating_sub(1)),
                now
            ],
        )?;
        outcome.cursor = tx.query_row(
            "SELECT cursor FROM pull_cursors WHERE unit_code = ?1",
            [unit_code.as_str()],
            |row| row.get(0),
        )?;
        tx.commit()?;
        Ok(outcome)
    }
}

/// Whether this device pushed the assessment itself.
fn pushed_here(conn: &Connection, assessment: AssessmentId) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE record_kind = 'assessment' AND record_id = ?1)",
        [assessment.to_string()],
        |row| row.get(0),
    )?)
}
