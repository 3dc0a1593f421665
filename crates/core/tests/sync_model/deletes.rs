//! Deletes in the model (docs/sync-protocol.md, "Deletes"): a person's
//! delete of an assessment entered by mistake, the server's tombstone rules,
//! and what a device does with the answer or a pulled tombstone, every
//! decision the planner's (`plan_delete`, `plan_delete_ack`, `plan_pull`).

use super::{assessment_id, Device, Logged, Model, OutboxRow, RowState, ServerRecord, Status};
use cdht_core::sync::merge::{plan_delete, plan_delete_ack, DeleteAckOp, DeleteFacts, DeleteOp};
use cdht_core::sync::{AckOutcome, Deletable, RecordBody, RecordEnvelope, ReviewState, Tombstone};

impl Model {
    pub(super) fn delete(&mut self, device: usize, record: usize) {
        let d = &mut self.devices[device];
        let Some(held) = d.records[record].as_mut() else {
            return;
        };
        let facts = DeleteFacts {
            sync_version: held.sync_version,
            state: Some(match held.status {
                Status::Submitted => ReviewState::Submitted,
                Status::Returned => ReviewState::Returned,
                Status::Approved => ReviewState::Approved,
            }),
            live_assessments: false,
            deleting: held.deleting,
        };
        match plan_delete(&facts) {
            DeleteOp::Send { version } => {
                held.sync_version = version;
                held.deleting = true;
                d.outbox.push(OutboxRow {
                    record,
                    version,
                    answers: held.answers.clone(),
                    state: RowState::Pending,
                    batch: None,
                    tombstone: true,
                });
            }
            // Every record of the model reached the server.
            DeleteOp::Local => unreachable!("{facts:?}"),
            DeleteOp::Refuse(_) => {}
        }
    }
}

/// The model's tombstone of `record`.
pub fn tombstone(record: usize, version: u32) -> RecordEnvelope {
    RecordEnvelope {
        version,
        hash: String::new(),
        body: RecordBody::Tombstone(Tombstone {
            id: *assessment_id(record).as_uuid(),
            record: Deletable::Assessment,
        }),
    }
}

/// A record removed for good (a delete acknowledged or pulled): its open
/// refusals are settled, nothing is left to fix.
pub(super) fn remove(d: &mut Device, record: usize) {
    d.records[record] = None;
    for row in d.outbox.iter_mut().filter(|r| r.record == record) {
        if let RowState::Rejected { settled } = &mut row.state {
            *settled = true;
        }
    }
}

/// The server's answer to a tombstone row `i` (`plan_delete_ack`).
pub(super) fn delete_acked(d: &mut Device, i: usize, outcome: AckOutcome) {
    let record = d.outbox[i].record;
    let version = d.outbox[i].version;
    if outcome == AckOutcome::Rejected {
        d.outbox[i].state = RowState::Rejected { settled: false };
    } else {
        d.outbox[i].state = RowState::Acked;
    }
    match plan_delete_ack(outcome) {
        DeleteAckOp::Remove => remove(d, record),
        DeleteAckOp::Restore => {
            if let Some(held) = d.records[record].as_mut() {
                if held.deleting && held.sync_version == version {
                    held.deleting = false;
                }
            }
        }
    }
}

/// The server's answer to a pushed row when deletes decide it: a row naming
/// a deleted record (`decide_on_deleted`: a tombstone is deleted already, an
/// older version superseded, anything else `record_deleted`), or a
/// tombstone (`decide_tombstone`: the version rules, then only before
/// review). `None`: an ordinary version of a live record.
pub(super) fn push_deleted(
    log: &mut Vec<Logged>,
    held: &mut ServerRecord,
    record: usize,
    version: u32,
    tombstone: bool,
    device: usize,
) -> Option<AckOutcome> {
    Some(if held.deleted {
        if tombstone {
            AckOutcome::AlreadyHad
        } else if version < held.version {
            AckOutcome::Superseded
        } else {
            AckOutcome::Rejected
        }
    } else if tombstone {
        if version == held.version {
            AckOutcome::Rejected
        } else if version < held.version {
            AckOutcome::Superseded
        } else if held.state != Status::Submitted {
            AckOutcome::Rejected
        } else {
            held.version = version;
            held.deleted = true;
            log.push(Logged::Delete {
                record,
                origin: device,
            });
            AckOutcome::Accepted
        }
    } else {
        return None;
    })
}
