//! A model of the sync protocol for the planner's property tests: the
//! server's push rules (docs/sync-protocol.md, "Versions and conflicts") and
//! change log as plain data, and devices whose every decision is the
//! planner's (`cdht_core::sync::merge`). Assessments of one person only: they
//! are where two devices' answers meet. Shared with the model test of the
//! real store, client and server (`crates/sync-engine/tests/merge_model.rs`),
//! which runs the same scenarios and compares its end with this one's.
#![allow(dead_code, clippy::unwrap_used)]

use cdht_core::ids::{AssessmentId, CatalogId, GroupId, IndicatorId};
use cdht_core::sync::merge::{
    plan_ack, plan_freeze, plan_pull, plan_submission, AckFacts, AckOp, FreezeOp, HeldRecord,
    PullFacts, PullOp,
};
use cdht_core::sync::{
    AckOutcome, AssessmentRecord, DeviceState, RecordBody, RecordEnvelope, MAX_RECORDS_PER_BATCH,
};
use cdht_core::{Answer, Answers};
use deletes::{delete_acked, push_deleted, remove};

/// The ten indicators of the demo catalog (244-2022, farmers).
pub const INDICATORS: [&str; 10] = [
    "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
];
/// Points every indicator starts with.
pub const FIRST_POINTS: i64 = 5;
pub const DEVICES: usize = 2;

mod deletes;
mod scenarios;
pub use deletes::*;
pub use scenarios::*;

/// One step of a scenario. Devices are 0 and 1; records 0..records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A person changes one answer (when the assessment is editable there).
    Edit {
        device: usize,
        record: usize,
        indicator: usize,
        points: i64,
    },
    /// A person submits (when editable there).
    Submit { device: usize, record: usize },
    /// A sync round: push everything, then pull everything.
    Sync { device: usize },
    /// A round whose push reached the server but whose answer was lost:
    /// the round stops there (the engine returns the error), the batch stays
    /// open and is resent by the next round.
    SyncAnswerLost { device: usize },
    /// A pull with nothing pushed first: the person submitted while the
    /// round was pulling (the app's screen and the background loop write
    /// the same database).
    PullOnly { device: usize },
    /// An officer returns the assessment (when submitted or approved).
    Return { record: usize },
    /// An officer approves it (when submitted).
    Approve { record: usize },
    /// A person deletes the assessment, entered by mistake (when the
    /// planner allows it: held, submitted, not being deleted already).
    Delete { device: usize, record: usize },
}

/// The state of an assessment on a device or on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Submitted,
    Returned,
    Approved,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRecord {
    pub version: u32,
    pub answers: Answers,
    pub state: Status,
    /// Deleted by a tombstone of `version` (docs/sync-protocol.md, "Deletes").
    pub deleted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    Record {
        record: usize,
        origin: usize,
    },
    Review {
        record: usize,
        state: Status,
    },
    /// A record's tombstone; the record's earlier changes are no longer
    /// sent (the server has no record to send).
    Delete {
        record: usize,
        origin: usize,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Server {
    pub records: Vec<ServerRecord>,
    /// Every answers the server accepted, per record.
    pub accepted: Vec<Vec<Answers>>,
    pub log: Vec<Logged>,
    /// Answers to batches already applied, per device and batch sequence.
    pub answered: Vec<(usize, u64, Vec<AckOutcome>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Pending,
    Sent,
    Acked,
    Rejected { settled: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub record: usize,
    pub version: u32,
    pub answers: Answers,
    pub state: RowState,
    pub batch: Option<u64>,
    /// A tombstone (the answers are the ones held when it was queued).
    pub tombstone: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub sync_version: u32,
    pub answers: Answers,
    pub status: Status,
    pub revision: i64,
    pub synced_revision: i64,
    /// A tombstone of it waits for the server's answer: hidden, not edited.
    pub deleting: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Device {
    pub records: Vec<Option<DeviceRecord>>,
    pub outbox: Vec<OutboxRow>,
    pub open_batch: Option<u64>,
    pub next_seq: u64,
    pub cursor: usize,
    /// Answers kept when a pulled version replaced them, per record.
    pub kept: Vec<Vec<Answers>>,
    /// The last answers a person typed here, per record.
    pub typed: Vec<Option<Answers>>,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub server: Server,
    pub devices: Vec<Device>,
}

pub fn first_answers() -> Answers {
    INDICATORS
        .iter()
        .map(|i| (IndicatorId::new(*i), Answer::Points(FIRST_POINTS)))
        .collect()
}

/// The model's id of assessment `record`.
pub fn assessment_id(record: usize) -> AssessmentId {
    format!("019a0000-0000-7000-8000-{record:012}")
        .parse()
        .unwrap()
}

/// The body a device pushes and the server hands out: only the answers
/// (and so the score) differ between two versions here.
pub fn envelope(record: usize, version: u32, answers: &Answers) -> RecordEnvelope {
    RecordEnvelope {
        version,
        hash: String::new(),
        body: RecordBody::Assessment(AssessmentRecord {
            id: assessment_id(record),
            person: "019a0000-0000-7000-8000-000000000a00".parse().unwrap(),
            year: 2025,
            catalog: CatalogId::new("244-2022"),
            group: GroupId::new("farmers"),
            answers: answers.clone(),
            state: DeviceState::Submitted,
            device_total: None,
        }),
    }
}

impl Model {
    /// Device 0 collected `records` assessments (every answer
    /// [`FIRST_POINTS`]), submitted and pushed them; device 1 pulled them.
    pub fn new(records: usize) -> Self {
        let first = first_answers();
        let server = Server {
            records: vec![
                ServerRecord {
                    version: 1,
                    answers: first.clone(),
                    state: Status::Submitted,
                    deleted: false,
                };
                records
            ],
            accepted: vec![vec![first.clone()]; records],
            log: (0..records)
                .map(|record| Logged::Record { record, origin: 0 })
                .collect(),
            answered: Vec::new(),
        };
        let held = DeviceRecord {
            sync_version: 1,
            answers: first,
            status: Status::Submitted,
            revision: 2,
            synced_revision: 2,
            deleting: false,
        };
        let device = |held: Option<DeviceRecord>, cursor| Device {
            records: vec![held; records],
            outbox: Vec::new(),
            open_batch: None,
            next_seq: 2,
            cursor,
            kept: vec![Vec::new(); records],
            typed: vec![None; records],
        };
        let mut model = Self {
            server,
            devices: vec![device(Some(held), records), device(None, 0)],
        };
        model.pull(1);
        model
    }

    pub fn step(&mut self, step: Step) {
        match step {
            Step::Edit {
                device,
                record,
                indicator,
                points,
            } => self.edit(device, record, indicator, points),
            Step::Submit { device, record } => self.submit(device, record),
            Step::Sync { device } => {
                self.push(device, false);
                self.pull(device);
            }
            Step::SyncAnswerLost { device } => self.push(device, true),
            Step::PullOnly { device } => self.pull(device),
            Step::Return { record } => {
                let held = &mut self.server.records[record];
                if matches!(held.state, Status::Submitted | Status::Approved) && !held.deleted {
                    held.state = Status::Returned;
                    let state = Status::Returned;
                    self.server.log.push(Logged::Review { record, state });
                }
            }
            Step::Delete { device, record } => self.delete(device, record),
            Step::Approve { record } => {
                let held = &mut self.server.records[record];
                if held.state == Status::Submitted && !held.deleted {
                    held.state = Status::Approved;
                    let state = Status::Approved;
                    self.server.log.push(Logged::Review { record, state });
                }
            }
        }
    }

    fn edit(&mut self, device: usize, record: usize, indicator: usize, points: i64) {
        let d = &mut self.devices[device];
        let Some(held) = d.records[record].as_mut() else {
            return;
        };
        if held.status != Status::Returned || held.deleting {
            return;
        }
        let mut answers = held.answers.clone();
        answers.set(
            IndicatorId::new(INDICATORS[indicator]),
            Answer::Points(points),
        );
        if answers == held.answers {
            // The app saves nothing when nothing changed.
            return;
        }
        held.answers = answers.clone();
        held.revision += 1;
        d.typed[record] = Some(answers);
    }

    fn submit(&mut self, device: usize, record: usize) {
        let d = &mut self.devices[device];
        let Some(held) = d.records[record].as_mut() else {
            return;
        };
        if held.status != Status::Returned || held.deleting {
            return;
        }
        held.status = Status::Submitted;
        held.revision += 1;
        let plan = plan_submission(false, 0, held.sync_version).unwrap();
        held.sync_version = plan.assessment_version;
        held.synced_revision = held.revision;
        d.outbox.push(OutboxRow {
            record,
            version: plan.assessment_version,
            answers: held.answers.clone(),
            state: RowState::Pending,
            batch: None,
            tombstone: false,
        });
        d.typed[record] = Some(held.answers.clone());
    }

    fn push(&mut self, device: usize, lose_answer: bool) {
        loop {
            let d = &mut self.devices[device];
            let pending = d
                .outbox
                .iter()
                .filter(|r| r.state == RowState::Pending && r.batch.is_none())
                .count();
            let seq = match plan_freeze(d.open_batch.is_some(), pending, MAX_RECORDS_PER_BATCH) {
                FreezeOp::Idle => return,
                FreezeOp::Resend => d.open_batch.unwrap(),
                FreezeOp::Freeze { records } => {
                    let seq = d.next_seq;
                    d.next_seq += 1;
                    d.open_batch = Some(seq);
                    for row in d
                        .outbox
                        .iter_mut()
                        .filter(|r| r.state == RowState::Pending && r.batch.is_none())
                        .take(records)
                    {
                        row.batch = Some(seq);
                    }
                    seq
                }
            };
            let rows: Vec<usize> = (0..d.outbox.len())
                .filter(|&i| d.outbox[i].batch == Some(seq))
                .collect();
            for &i in &rows {
                d.outbox[i].state = RowState::Sent;
            }
            let sent: Vec<(usize, u32, Answers, bool)> = rows
                .iter()
                .map(|&i| {
                    let row = &d.outbox[i];
                    (row.record, row.version, row.answers.clone(), row.tombstone)
                })
                .collect();
            let acks = self.server.push(device, seq, &sent);
            if lose_answer {
                return;
            }
            self.apply_acks(device, seq, &rows, &acks);
        }
    }

    fn apply_acks(&mut self, device: usize, seq: u64, rows: &[usize], acks: &[AckOutcome]) {
        let d = &mut self.devices[device];
        for (&i, &outcome) in rows.iter().zip(acks) {
            let (record, version) = (d.outbox[i].record, d.outbox[i].version);
            if d.outbox[i].tombstone {
                delete_acked(d, i, outcome);
                continue;
            }
            // Removed by an earlier ack or pull: nothing left to update.
            let Some(held) = d.records[record].as_mut() else {
                d.outbox[i].state = if outcome == AckOutcome::Rejected {
                    RowState::Rejected { settled: true }
                } else {
                    RowState::Acked
                };
                continue;
            };
            let facts = AckFacts {
                at_version: held.sync_version == version,
                submitted: held.status == Status::Submitted,
            };
            match plan_ack(outcome, facts) {
                AckOp::Park { return_assessment } => {
                    d.outbox[i].state = RowState::Rejected { settled: false };
                    if return_assessment {
                        held.status = Status::Returned;
                    }
                }
                AckOp::Acknowledge { unsent } => {
                    d.outbox[i].state = RowState::Acked;
                    if unsent {
                        held.synced_revision = -1;
                    }
                }
            }
        }
        for row in &mut d.outbox {
            if row.batch == Some(seq) && matches!(row.state, RowState::Pending | RowState::Sent) {
                row.state = RowState::Pending;
                row.batch = None;
            }
        }
        d.open_batch = None;
    }

    fn pull(&mut self, device: usize) {
        while self.devices[device].cursor < self.server.log.len() {
            let at = self.devices[device].cursor;
            match self.server.log[at] {
                Logged::Record { origin, .. } | Logged::Delete { origin, .. }
                    if origin == device => {}
                Logged::Record { record, .. } if self.server.records[record].deleted => {}
                Logged::Record { record, .. } | Logged::Delete { record, .. } => {
                    if !self.pull_record(device, record) {
                        // Deferred: the next round pulls from here again.
                        return;
                    }
                }
                Logged::Review { record, state } => {
                    if let Some(held) = self.devices[device].records[record].as_mut() {
                        review(held, state);
                    }
                }
            }
            self.devices[device].cursor = at + 1;
        }
    }

    /// Applies the server's record; `false` when the planner defers it.
    fn pull_record(&mut self, device: usize, record: usize) -> bool {
        let server = &self.server.records[record];
        let incoming = if server.deleted {
            tombstone(record, server.version)
        } else {
            envelope(record, server.version, &server.answers)
        };
        let d = &mut self.devices[device];
        let facts = PullFacts {
            held: d.records[record].as_ref().map(|held| HeldRecord {
                sync_version: held.sync_version,
                unacked_push: d.outbox.iter().any(|r| {
                    r.record == record && matches!(r.state, RowState::Pending | RowState::Sent)
                }),
                unsettled_refusals: d
                    .outbox
                    .iter()
                    .filter(|r| {
                        r.record == record && r.state == RowState::Rejected { settled: false }
                    })
                    .map(|r| r.version)
                    .collect(),
                edited_since_sync: held.revision != held.synced_revision,
                answers: held.answers.clone(),
            }),
            parent_held: true,
        };
        let pulled = DeviceRecord {
            sync_version: server.version,
            answers: server.answers.clone(),
            status: Status::Submitted,
            revision: 1,
            synced_revision: 1,
            deleting: false,
        };
        match plan_pull(&facts, &incoming) {
            PullOp::Remove => remove(d, record),
            PullOp::Defer => return false,
            PullOp::Skip(_) => {}
            PullOp::Insert => d.records[record] = Some(pulled),
            PullOp::Replace(replace) => {
                let held = d.records[record].as_mut().unwrap();
                if replace.keep_local_answers {
                    d.kept[record].push(held.answers.clone());
                }
                let revision = held.revision + 1;
                *held = DeviceRecord {
                    revision,
                    synced_revision: revision,
                    ..pulled
                };
                for row in d.outbox.iter_mut().filter(|r| r.record == record) {
                    if let RowState::Rejected { settled } = &mut row.state {
                        *settled = true;
                    }
                }
            }
        }
        true
    }

    /// The refusals of `record` on `device` that still need a person (what
    /// `Store::open_refusals` lists).
    pub fn open_refusals(&self, device: usize, record: usize) -> usize {
        let rows = &self.devices[device].outbox;
        rows.iter()
            .filter(|r| r.record == record && r.state == RowState::Rejected { settled: false })
            .filter(|r| {
                !rows.iter().any(|later| {
                    later.record == record
                        && later.version > r.version
                        && !matches!(later.state, RowState::Rejected { .. })
                })
            })
            .count()
    }
}

/// A pulled review decision, as `apply_review_in` takes it: approval only of
/// a submitted assessment, a return of a submitted or approved one; anything
/// else is skipped.
fn review(held: &mut DeviceRecord, state: Status) {
    match (state, held.status) {
        (Status::Approved, Status::Submitted) => held.status = Status::Approved,
        (Status::Returned, Status::Submitted | Status::Approved) => held.status = Status::Returned,
        _ => {}
    }
}

impl Server {
    /// One batch, with the server's rules; a replay gets the first answer.
    fn push(
        &mut self,
        device: usize,
        seq: u64,
        rows: &[(usize, u32, Answers, bool)],
    ) -> Vec<AckOutcome> {
        if let Some((_, _, acks)) = self
            .answered
            .iter()
            .find(|(d, s, _)| *d == device && *s == seq)
        {
            return acks.clone();
        }
        let mut acks = Vec::new();
        for (record, version, answers, tombstone) in rows {
            let held = &mut self.records[*record];
            let outcome = if let Some(outcome) =
                push_deleted(&mut self.log, held, *record, *version, *tombstone, device)
            {
                outcome
            } else if *version == held.version {
                if *answers == held.answers {
                    AckOutcome::AlreadyHad
                } else {
                    AckOutcome::Rejected
                }
            } else if *version < held.version {
                AckOutcome::Superseded
            } else if held.state == Status::Approved {
                AckOutcome::Rejected
            } else {
                held.version = *version;
                held.answers = answers.clone();
                held.state = Status::Submitted;
                self.accepted[*record].push(answers.clone());
                self.log.push(Logged::Record {
                    record: *record,
                    origin: device,
                });
                AckOutcome::Accepted
            };
            acks.push(outcome);
        }
        self.answered.push((device, seq, acks.clone()));
        acks
    }
}
