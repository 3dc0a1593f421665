//! A device's push: a batch of records, each checked and written in one
//! transaction.
//!
//! The device's row is locked first (`FOR UPDATE`): two instances given
//! two batches of one device, or one batch twice, apply them one after the
//! other, and the second sees the first. Then the change counter (every
//! accepted record takes a position), held to the commit (see
//! [`crate::changes`]), so records are read and written under it.

use crate::changes::{audit, lock_last_seq, save_last_seq, AuditRow};
use crate::error::{corrupt, Result};
use crate::evidence::announce_upload;
use crate::push_held::{held, Held, ScopeFacts};
use crate::units::unit_row;
use crate::{big, unsigned, PgStorage};
use cdht_core::sync::{AckOutcome, DeviceState, PushResponse, RecordAck, RecordBody, ReviewState};
use cdht_core::AreaType;
use cdht_server_db::rules::{self, decide, same_cccd, Decision, Pushed, WriteTarget};
use cdht_server_db::{BatchKey, CccdUpdate, DeviceRef, PreparedRecord, PushOutcome, RecordCheck};
use postgres::{Statement, Transaction};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What a batch learnt from its earlier records, so that its later ones
/// need not ask again (it is one transaction: what it wrote stays true).
pub(crate) struct BatchMemo {
    /// The effective area type of units.
    pub areas: HashMap<String, AreaType>,
    /// The people it wrote, with their owning unit.
    pub people: HashMap<String, String>,
    /// The people `device_people` has for this device.
    pub linked: HashSet<String>,
    /// Whether a unit is in a root's subtree, as asked so far.
    pub subtree: RefCell<HashMap<(String, String), bool>>,
    pub statements: Statements,
    /// The last change log position given, the counter locked.
    last_seq: i64,
    took: bool,
}

impl BatchMemo {
    pub(crate) fn next_seq(&mut self) -> i64 {
        self.last_seq += 1;
        self.took = true;
        self.last_seq
    }
}

/// The statements a batch runs for each of its records, prepared on their
/// first use: a batch of 200 records runs a handful of statements hundreds
/// of times, and an unprepared one costs a round trip more each time.
#[derive(Default)]
pub(crate) struct Statements(RefCell<HashMap<String, Statement>>);

impl Statements {
    pub(crate) fn get(&self, tx: &mut Transaction<'_>, sql: &str) -> Result<Statement> {
        if let Some(known) = self.0.borrow().get(sql) {
            return Ok(known.clone());
        }
        let prepared = tx.prepare(sql)?;
        self.0.borrow_mut().insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }
}

/// The change that first stores a record, carried by its row: its change
/// log position and its unit's area type then.
pub(crate) struct FirstStore {
    pub seq: i64,
    pub difficult: bool,
}

/// What a record's row keeps of its first change when it is written again
/// (the UPSERT's `DO UPDATE`, where a bare column is the value held): the
/// device that first pushed it, and when, once they differ from the columns
/// that now change. NULL until then, so an ingest stores nothing.
/// `table`: PostgreSQL wants the held row's columns named by it.
pub(crate) fn first_store_kept(table: &str) -> String {
    format!(
        "added_by = COALESCE({table}.added_by, NULLIF({table}.device_id, $3)), \
         added_at = COALESCE({table}.added_at, {table}.updated_at)"
    )
}

/// The person a record is about: the person itself, an assessment's person,
/// an evidence's assessment's person (when the server has the assessment).
fn record_subject(
    tx: &mut Transaction<'_>,
    statements: &Statements,
    body: &RecordBody,
) -> Result<Option<String>> {
    Ok(match body {
        RecordBody::Person(p) => Some(p.id.to_string()),
        RecordBody::Assessment(a) => Some(a.person.to_string()),
        RecordBody::Evidence(e) => assessment_person(tx, statements, &e.assessment.to_string())?,
        RecordBody::Tombstone(_) => None,
    })
}

fn assessment_person(
    tx: &mut Transaction<'_>,
    statements: &Statements,
    assessment: &str,
) -> Result<Option<String>> {
    let st = statements.get(tx, "SELECT person FROM assessments WHERE id = $1")?;
    Ok(tx.query_opt(&st, &[&assessment])?.map(|r| r.get(0)))
}

/// What a pushed body hangs on: an assessment's person, an evidence's
/// assessment.
fn pushed_link(body: &RecordBody) -> Option<String> {
    match body {
        RecordBody::Person(_) | RecordBody::Tombstone(_) => None,
        RecordBody::Assessment(a) => Some(a.person.to_string()),
        RecordBody::Evidence(e) => Some(e.assessment.to_string()),
    }
}

fn assessment_state(
    tx: &mut Transaction<'_>,
    statements: &Statements,
    assessment: &str,
) -> Result<Option<ReviewState>> {
    let st = statements.get(tx, "SELECT state FROM assessments WHERE id = $1")?;
    Ok(tx
        .query_opt(&st, &[&assessment])?
        .and_then(|r| ReviewState::parse(r.get(0))))
}

/// When a batch is applied: one time for all its rows.
struct BatchTime(String);

#[allow(clippy::too_many_lines)] // one record's whole rule, in order; splitting hides it
fn apply_record(
    tx: &mut Transaction<'_>,
    device: &DeviceRef,
    device_id: &str,
    record: &PreparedRecord,
    memo: &mut BatchMemo,
    t: &BatchTime,
) -> Result<RecordAck> {
    let env = &record.envelope;
    let id = env.body.id();
    let mut ack = rules::accepted_ack(env);
    let reject = rules::refused_ack;
    if let RecordCheck::Rejected { code } = &record.check {
        return Ok(reject(ack, code));
    }
    // Deletes (migration 2): a tombstone, or a record naming a deleted one.
    if let RecordBody::Tombstone(tombstone) = &env.body {
        return crate::push_delete::apply_tombstone(
            tx, device, device_id, env, tombstone, memo, &t.0, ack,
        );
    }
    if let Some(ack) = crate::push_delete::on_deleted(tx, device, device_id, env, memo, &ack)? {
        return Ok(ack);
    }
    let table = match env.body {
        RecordBody::Person(_) => "persons",
        RecordBody::Assessment(_) => "assessments",
        RecordBody::Evidence(_) | RecordBody::Tombstone(_) => "evidence",
    };
    let id_text = id.to_string();
    let found = held(tx, &memo.statements, table, &id_text)?;
    let old_state = found
        .as_ref()
        .and_then(|h| h.state.as_deref().and_then(ReviewState::parse));
    // The scope is judged on the stored record (its unit, its person, its
    // assessment's person), never on what the pushed body names.
    let subject = match (&found, &env.body) {
        (Some(old), RecordBody::Assessment(_)) => old.link.clone(),
        (Some(old), RecordBody::Evidence(_)) => match &old.link {
            Some(a) => assessment_person(tx, &memo.statements, a)?,
            None => None,
        },
        _ => record_subject(tx, &memo.statements, &env.body)?,
    };
    let in_scope = rules::may_write(
        device,
        device_id,
        &WriteTarget {
            id: &id_text,
            owner: found.as_ref().map(|h| h.unit.as_str()),
            subject: subject.as_deref(),
            new_person: found.is_none() && matches!(env.body, RecordBody::Person(_)),
        },
        &ScopeFacts {
            tx: RefCell::new(tx),
            device_id,
            memo,
        },
    )?;
    let link = pushed_link(&env.body);
    // Evidence follows the stored assessment's review state.
    let parent_state = match (&found, &env.body) {
        (Some(old), RecordBody::Evidence(_)) => match &old.link {
            Some(a) => assessment_state(tx, &memo.statements, a)?,
            None => None,
        },
        (None, RecordBody::Evidence(e)) => {
            assessment_state(tx, &memo.statements, &e.assessment.to_string())?
        }
        _ => None,
    };
    let stored_hash = match &record.check {
        RecordCheck::Person { stored_hash, .. } => stored_hash.as_str(),
        _ => env.hash.as_str(),
    };
    let existing = found.as_ref().map(Held::existing);
    let decision = decide(
        existing.as_ref(),
        in_scope,
        &Pushed {
            version: env.version,
            hash: stored_hash,
            wire_hash: &env.hash,
            link: link.as_deref(),
            parent_state,
        },
    );
    // A record keeps the unit that first got it, whoever edits it later.
    let owner = found
        .as_ref()
        .map_or(device.unit.as_str(), |h| h.unit.as_str())
        .to_owned();
    let unit = owner.as_str();
    let new_record = decision == Decision::Insert;
    match decision {
        Decision::AlreadyHad => {
            ack.outcome = AckOutcome::AlreadyHad;
            if let RecordCheck::Assessment { score, .. } = &record.check {
                ack.score = Some(*score);
            }
            return Ok(ack);
        }
        Decision::Superseded => {
            ack.outcome = AckOutcome::Superseded;
            return Ok(ack);
        }
        Decision::Reject { code } => return Ok(reject(ack, &code)),
        Decision::Insert | Decision::Update => {}
    }
    // One phone may not grow a duplicate group without bound.
    if let RecordCheck::Person {
        cccd: CccdUpdate::Set(hmac),
        ..
    } = &record.check
    {
        let others: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM device_people dp JOIN persons p ON p.id = dp.person
                 WHERE dp.device_id = $1 AND p.cccd_hmac = $2 AND p.id <> $3",
                &[&device_id, hmac, &id_text],
            )?
            .get(0);
        if let Some(Decision::Reject { code }) = same_cccd(unsigned(others)) {
            return Ok(reject(ack, &code));
        }
    }
    // The unit's area (a walk up the tree) is the same for a whole batch.
    let area = match memo.areas.get(unit) {
        Some(area) => *area,
        None => {
            let area = unit_row(tx, unit)?.map(|r| r.area).unwrap_or_default();
            memo.areas.insert(unit.to_owned(), area);
            area
        }
    };
    let difficult = area == AreaType::Difficult;
    // A new record carries the change that stores it; a later version is a
    // row of the change log, written below.
    let first = new_record.then(|| FirstStore {
        seq: memo.next_seq(),
        difficult,
    });
    let record_kind: i16 = match (&env.body, &record.check) {
        (
            RecordBody::Person(p),
            RecordCheck::Person {
                cccd,
                keep_household,
                ..
            },
        ) => {
            crate::push_person::write_person(
                tx,
                &crate::push_person::PersonWrite {
                    person: p,
                    id: &id_text,
                    unit,
                    device_id,
                    version: env.version,
                    stored_hash,
                    cccd,
                    keep_household: *keep_household,
                    at: &t.0,
                    first: first.as_ref(),
                    statements: &memo.statements,
                },
            )?;
            0
        }
        (RecordBody::Assessment(a), RecordCheck::Assessment { score, points }) => {
            let state = match a.state {
                DeviceState::Draft => ReviewState::Draft,
                DeviceState::Submitted => ReviewState::Submitted,
            };
            let answers = serde_json::to_string(&a.answers).map_err(corrupt)?;
            let st = memo.statements.get(
                tx,
                &format!(
                    "INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp,
                        answers, version, hash, state, total, passed, threshold, updated_at,
                        device_total, points, added_seq, added_difficult)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                        $16, $17, $18, $19)
                     ON CONFLICT (id) DO UPDATE SET device_id = $3, person = $4, year = $5,
                        catalog = $6, grp = $7, answers = $8, version = $9, hash = $10,
                        state = $11, total = $12, passed = $13, threshold = $14,
                        updated_at = $15, device_total = $16, points = $17, {}",
                    first_store_kept("assessments")
                ),
            )?;
            tx.execute(
                &st,
                &[
                    &id_text,
                    &unit,
                    &device_id,
                    &a.person.to_string(),
                    &i64::from(a.year),
                    &a.catalog.as_str(),
                    &a.group.as_str(),
                    &answers,
                    &i64::from(env.version),
                    &env.hash,
                    &state.as_str(),
                    &i64::from(score.total),
                    &score.passed,
                    &i64::from(score.threshold),
                    &t.0,
                    &a.device_total.map(i64::from),
                    points,
                    &first.as_ref().map(|f| f.seq),
                    &first.as_ref().map(|f| f.difficult),
                ],
            )?;
            if old_state != Some(state) {
                audit(
                    tx,
                    &AuditRow {
                        at: &t.0,
                        actor: &format!("device:{device_id}"),
                        action: "push",
                        unit: Some(unit),
                        assessment: Some(&id_text),
                        from: old_state.map(ReviewState::as_str),
                        to: Some(state.as_str()),
                        detail: None,
                    },
                )?;
            }
            ack.score = Some(*score);
            1
        }
        (RecordBody::Evidence(e), RecordCheck::Evidence) => {
            // The uploader is the device that pushed the record with this
            // sha256: an edit that names the same photo keeps it (a
            // collector device editing a pulled record has not the bytes).
            let st = memo.statements.get(
                tx,
                &format!(
                    "INSERT INTO evidence (id, unit, device_id, assessment, indicator, sha256,
                            size, content_type, version, hash, updated_at, uploader, added_seq,
                            added_difficult)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $3, $12, $13)
                         ON CONFLICT (id) DO UPDATE SET device_id = $3, assessment = $4,
                            indicator = $5, sha256 = $6, size = $7, content_type = $8,
                            version = $9, hash = $10, updated_at = $11,
                            uploader = CASE WHEN evidence.sha256 = $6 THEN evidence.uploader
                                ELSE $3 END,
                            {}
                         RETURNING uploader",
                    first_store_kept("evidence")
                ),
            )?;
            let uploader: String = tx
                .query_one(
                    &st,
                    &[
                        &id_text,
                        &unit,
                        &device_id,
                        &e.assessment.to_string(),
                        &e.indicator.as_str(),
                        &e.sha256,
                        &big(e.size),
                        &e.content_type,
                        &i64::from(env.version),
                        &env.hash,
                        &t.0,
                        &first.as_ref().map(|f| f.seq),
                        &first.as_ref().map(|f| f.difficult),
                    ],
                )?
                .get(0);
            if uploader == device_id {
                announce_upload(tx, device_id, &e.sha256, e.size)?;
            }
            2
        }
        _ => return Err(corrupt("record check does not match")),
    };
    // The people this device pushed: what it may write and pull as `own_records`.
    if let Some(person) = subject.as_ref().filter(|p| !memo.linked.contains(*p)) {
        let st = memo.statements.get(
            tx,
            "INSERT INTO device_people (device_id, person) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )?;
        tx.execute(&st, &[&device_id, person])?;
        memo.linked.insert(person.clone());
    }
    if record_kind == 0 {
        memo.people.insert(id_text.clone(), owner.clone());
    }
    // A later version: what devices pull is the record as now stored (the
    // pull rebuilds it, and takes the unit from its row).
    if first.is_none() {
        let seq = memo.next_seq();
        let st = memo.statements.get(
            tx,
            "INSERT INTO changes (seq, kind, subject, origin, at, record_kind, record, difficult)
             VALUES ($1, 'record', $2, $3, $4, $5, $6, $7)",
        )?;
        tx.execute(
            &st,
            &[
                &seq,
                &subject,
                &device_id,
                &t.0,
                &record_kind,
                // A person is its own subject.
                &(record_kind != 0).then_some(&id_text),
                &difficult,
            ],
        )?;
    }
    Ok(ack)
}

pub(crate) fn apply_push(
    db: &PgStorage,
    device_ref: &DeviceRef,
    key: &BatchKey,
    records: &[PreparedRecord],
) -> Result<PushOutcome> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    let device = device_ref.device_id.to_string();
    // First the device's row: its batches, and retries of one, apply one at a time.
    let last = tx
        .query_opt(
            "SELECT last_push_seq FROM devices WHERE id = $1 FOR UPDATE",
            &[&device],
        )?
        .map_or(0, |r| unsigned(r.get(0)));
    let batch_id = key.batch_id.to_string();
    if let Some(r) = tx.query_opt(
        "SELECT device_id, content_hash, response FROM batches WHERE batch_id = $1",
        &[&batch_id],
    )? {
        let (by, hash): (&str, &str) = (r.get(0), r.get(1));
        return Ok(if by == device && hash == key.content_hash {
            PushOutcome::Replayed(r.get(2))
        } else {
            PushOutcome::BatchConflict
        });
    }
    if key.seq <= last {
        return Ok(PushOutcome::SeqOutOfOrder { last });
    }
    let mut memo = BatchMemo {
        areas: HashMap::new(),
        people: HashMap::new(),
        linked: HashSet::new(),
        subtree: RefCell::default(),
        statements: Statements::default(),
        last_seq: lock_last_seq(&mut tx)?,
        took: false,
    };
    let t = BatchTime(crate::now());
    let mut acks = Vec::with_capacity(records.len());
    for record in records {
        acks.push(apply_record(
            &mut tx, device_ref, &device, record, &mut memo, &t,
        )?);
    }
    let response = serde_json::to_string(&PushResponse {
        batch_id: key.batch_id,
        seq: key.seq,
        acks,
    })
    .map_err(corrupt)?;
    // Another device may have used the same batch id meanwhile (its row is
    // not the one locked here): that is a conflict, as if seen before.
    let inserted = tx.execute(
        "INSERT INTO batches (batch_id, device_id, seq, content_hash, response, applied_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (batch_id) DO NOTHING",
        &[
            &batch_id,
            &device,
            &big(key.seq),
            &key.content_hash,
            &response,
            &t.0,
        ],
    )?;
    if inserted == 0 {
        return Ok(PushOutcome::BatchConflict);
    }
    tx.execute(
        "UPDATE devices SET last_push_seq = $2 WHERE id = $1",
        &[&device, &big(key.seq)],
    )?;
    if memo.took {
        save_last_seq(&mut tx, memo.last_seq)?;
    }
    tx.commit()?;
    Ok(PushOutcome::Applied(response))
}

pub(crate) fn assessment_areas(db: &PgStorage, ids: &[Uuid]) -> Result<HashMap<Uuid, AreaType>> {
    let mut conn = db.conn()?;
    let mut out = HashMap::new();
    let texts: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let owners: Vec<(String, String)> = conn
        .query(
            "SELECT id, unit FROM assessments WHERE id = ANY($1)",
            &[&texts],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut areas: HashMap<String, AreaType> = HashMap::new();
    for (id, unit) in owners {
        let area = match areas.get(&unit) {
            Some(a) => Some(*a),
            None => unit_row(&mut *conn, &unit)?.map(|r| r.area),
        };
        if let (Some(area), Ok(id)) = (area, id.parse()) {
            areas.insert(unit, area);
            out.insert(id, area);
        }
    }
    Ok(out)
}
