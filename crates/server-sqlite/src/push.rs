//! A device's push: a batch of records, each checked and written in one
//! transaction.

use super::devices::is_device_person;
use super::evidence::announce_upload;
use super::push_batch::{
    write_audits, BatchMemo, BatchTime, FirstStore, PushAudit, FIRST_STORE_KEPT,
};
use super::units::{in_subtree, unit_row};
use super::{batch_answers, hash_text, hash_value, write_tx, SqliteStorage};
use cdht_core::sync::{AckOutcome, DeviceState, PushResponse, RecordAck, RecordBody, ReviewState};
use cdht_core::AreaType;
use cdht_server_db::rules::{
    self, decide, same_cccd, Decision, Existing, Pushed, ScopeLookup, WriteTarget,
};
use cdht_server_db::{
    BatchKey, CccdUpdate, DeviceRef, PreparedRecord, PushOutcome, RecordCheck, StorageError,
    StorageResult,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::HashMap;
use uuid::Uuid;

/// The person a record is about: the person itself, an assessment's person,
/// an evidence's assessment's person (when the server has the assessment).
fn record_subject(conn: &Connection, body: &RecordBody) -> StorageResult<Option<String>> {
    Ok(match body {
        RecordBody::Person(p) => Some(p.id.to_string()),
        RecordBody::Assessment(a) => Some(a.person.to_string()),
        RecordBody::Evidence(e) => assessment_person(conn, &e.assessment.to_string())?,
        RecordBody::Tombstone(_) => None,
    })
}

fn assessment_person(conn: &Connection, assessment: &str) -> StorageResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT person FROM assessments WHERE id = ?1")?
        .query_row([assessment], |r| r.get(0))
        .optional()?)
}

/// What the write-scope rule ([`rules::may_write`]) asks, answered inside
/// the push's transaction, with what the batch wrote so far.
struct ScopeFacts<'a> {
    conn: &'a Connection,
    device_id: &'a str,
    memo: &'a BatchMemo,
}

impl ScopeLookup for ScopeFacts<'_> {
    fn in_subtree(&self, root: &str, unit: &str) -> StorageResult<bool> {
        in_subtree(self.conn, root, unit)
    }
    fn is_own_person(&self, person: &str) -> StorageResult<bool> {
        Ok(self.memo.linked.contains(person)
            || is_device_person(self.conn, self.device_id, person)?)
    }
    fn evidence_pusher(&self, id: &str) -> StorageResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT device_id FROM evidence WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }
    fn person_unit(&self, person: &str) -> StorageResult<Option<String>> {
        match self.memo.people.get(person) {
            Some(unit) => Ok(Some(unit.clone())),
            None => Ok(self
                .conn
                .prepare_cached("SELECT unit FROM persons WHERE id = ?1")?
                .query_row([person], |r| r.get(0))
                .optional()?),
        }
    }
}

/// [`rules::may_write`] for a record of this push, asked inside its
/// transaction (what deletes call, with the record's stored facts).
#[allow(clippy::too_many_arguments)] // the rule's inputs, each named at the call
pub(super) fn may_write(
    conn: &Connection,
    device: &DeviceRef,
    device_id: &str,
    owner: Option<&str>,
    subject: Option<&str>,
    id: &str,
    new_person: bool,
    memo: &BatchMemo,
) -> StorageResult<bool> {
    rules::may_write(
        device,
        device_id,
        &WriteTarget {
            id,
            owner,
            subject,
            new_person,
        },
        &ScopeFacts {
            conn,
            device_id,
            memo,
        },
    )
}

/// (version, hash, unit, state, sent_hash, link, household_hash) of a
/// stored record.
type ExistingRow = (
    u32,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub(super) fn existing<'a>(
    tx: &Transaction<'_>,
    table: &str,
    id: &str,
    buf: &'a mut Option<ExistingRow>,
) -> StorageResult<Option<Existing<'a>>> {
    // Written out, not formatted: this runs twice per pair, and the cache
    // finds a statement by its text.
    let sql = match table {
        "persons" => {
            "SELECT version, hash, unit, NULL, sent_hash, NULL, household_hash
             FROM persons WHERE id = ?1"
        }
        "assessments" => {
            "SELECT version, hash, unit, state, NULL, person, NULL
             FROM assessments WHERE id = ?1"
        }
        _ => {
            "SELECT version, hash, unit, NULL, NULL, assessment, NULL
             FROM evidence WHERE id = ?1"
        }
    };
    *buf = tx
        .prepare_cached(sql)?
        .query_row([id], |r| {
            Ok((
                r.get(0)?,
                hash_text(r.get_ref(1)?)?.unwrap_or_default(),
                r.get(2)?,
                r.get(3)?,
                hash_text(r.get_ref(4)?)?,
                r.get(5)?,
                hash_text(r.get_ref(6)?)?,
            ))
        })
        .optional()?;
    Ok(buf.as_ref().map(
        |(version, hash, unit, state, sent_hash, link, household_hash)| Existing {
            version: *version,
            hash,
            sent_hash: sent_hash.as_deref(),
            household_hash: household_hash.as_deref(),
            unit,
            state: state.as_deref().and_then(ReviewState::parse),
            link: link.as_deref(),
        },
    ))
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

fn assessment_state(conn: &Connection, assessment: &str) -> StorageResult<Option<ReviewState>> {
    let state: Option<String> = conn
        .query_row(
            "SELECT state FROM assessments WHERE id = ?1",
            [assessment],
            |r| r.get(0),
        )
        .optional()?;
    Ok(state.as_deref().and_then(ReviewState::parse))
}

#[allow(clippy::too_many_lines)] // one record's whole rule, in order; splitting hides it
fn apply_record(
    tx: &Transaction<'_>,
    device: &DeviceRef,
    device_id: &str,
    record: &PreparedRecord,
    memo: &mut BatchMemo,
    t: &BatchTime,
) -> StorageResult<RecordAck> {
    let env = &record.envelope;
    let id = env.body.id();
    let mut ack = rules::accepted_ack(env);
    let reject = rules::refused_ack;
    if let RecordCheck::Rejected { code } = &record.check {
        return Ok(reject(ack, code));
    }
    // Deletes (migration 0013): a tombstone, or a record naming a deleted one.
    if let RecordBody::Tombstone(tombstone) = &env.body {
        return super::push_delete::apply_tombstone(
            tx, device, device_id, env, tombstone, memo, t, ack,
        );
    }
    if let Some(ack) = super::push_delete::on_deleted(tx, device, device_id, env, memo, &ack)? {
        return Ok(ack);
    }
    let table = match env.body {
        RecordBody::Person(_) => "persons",
        RecordBody::Assessment(_) => "assessments",
        RecordBody::Evidence(_) | RecordBody::Tombstone(_) => "evidence",
    };
    let id_text = id.to_string();
    let mut buf = None;
    let found = existing(tx, table, &id_text, &mut buf)?;
    let old_state = found.as_ref().and_then(|e| e.state);
    // The scope is judged on the stored record (its unit, its person, its
    // assessment's person), never on what the pushed body names.
    let subject = match (&found, &env.body) {
        (Some(old), RecordBody::Assessment(_)) => old.link.map(str::to_owned),
        (Some(old), RecordBody::Evidence(_)) => match old.link {
            Some(a) => assessment_person(tx, a)?,
            None => None,
        },
        _ => record_subject(tx, &env.body)?,
    };
    let in_scope = rules::may_write(
        device,
        device_id,
        &WriteTarget {
            id: &id_text,
            owner: found.as_ref().map(|e| e.unit),
            subject: subject.as_deref(),
            new_person: found.is_none() && matches!(env.body, RecordBody::Person(_)),
        },
        &ScopeFacts {
            conn: tx,
            device_id,
            memo,
        },
    )?;
    let link = pushed_link(&env.body);
    // Evidence follows the stored assessment's review state.
    let parent_state = match (&found, &env.body) {
        (Some(old), RecordBody::Evidence(_)) => match old.link {
            Some(a) => assessment_state(tx, a)?,
            None => None,
        },
        (None, RecordBody::Evidence(e)) => assessment_state(tx, &e.assessment.to_string())?,
        _ => None,
    };
    let stored_hash = match &record.check {
        RecordCheck::Person { stored_hash, .. } => stored_hash.as_str(),
        _ => env.hash.as_str(),
    };
    let decision = decide(
        found.as_ref(),
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
        .map_or(device.unit.as_str(), |e| e.unit)
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
        let others: u64 = tx.query_row(
            "SELECT COUNT(*) FROM device_people dp JOIN persons p ON p.id = dp.person
             WHERE dp.device_id = ?1 AND p.cccd_hmac = ?2 AND p.id <> ?3",
            params![device_id, hmac, id_text],
            |r| r.get(0),
        )?;
        if let Some(Decision::Reject { code }) = same_cccd(others) {
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
    // A new record carries the change that stores it (migration 0012);
    // a later version is a row of the change log, written below.
    let first = if new_record {
        Some(FirstStore {
            seq: memo.next_seq(tx)?,
            difficult,
        })
    } else {
        None
    };
    let record_kind = match (&env.body, &record.check) {
        (
            RecordBody::Person(p),
            RecordCheck::Person {
                cccd,
                keep_household,
                ..
            },
        ) => {
            super::push_person::write_person(
                tx,
                &super::push_person::PersonWrite {
                    person: p,
                    id: &id_text,
                    unit,
                    device_id,
                    version: env.version,
                    stored_hash,
                    cccd,
                    keep_household: *keep_household,
                    at: &t.text,
                    first: first.as_ref(),
                },
            )?;
            0
        }
        (RecordBody::Assessment(a), RecordCheck::Assessment { score, points }) => {
            let state = match a.state {
                DeviceState::Draft => ReviewState::Draft,
                DeviceState::Submitted => ReviewState::Submitted,
            };
            let answers = serde_json::to_string(&a.answers)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?;
            tx.prepare_cached(&format!(
                "INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp, answers,
                    version, hash, state, total, passed, threshold, updated_at, device_total,
                    points, added_seq, added_difficult)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19)
                 ON CONFLICT (id) DO UPDATE SET device_id = ?3, person = ?4, year = ?5,
                    catalog = ?6, grp = ?7, answers = ?8, version = ?9, hash = ?10, state = ?11,
                    total = ?12, passed = ?13, threshold = ?14, updated_at = ?15,
                    device_total = ?16, points = ?17, {FIRST_STORE_KEPT}"
            ))?
            .execute(params![
                id_text,
                unit,
                device_id,
                a.person.to_string(),
                a.year,
                a.catalog.as_str(),
                a.group.as_str(),
                answers,
                env.version,
                hash_value(&env.hash),
                state.as_str(),
                score.total,
                score.passed,
                score.threshold,
                t.text,
                a.device_total,
                super::points::stored_points(tx, points, &mut memo.points_layouts)?,
                first.as_ref().map(|f| f.seq),
                first.as_ref().map(|f| f.difficult)
            ])?;
            if old_state != Some(state) {
                memo.audits.push(PushAudit {
                    unit: unit.to_owned(),
                    assessment: id_text.clone(),
                    from: old_state.map(ReviewState::as_str),
                    to: state.as_str(),
                });
            }
            ack.score = Some(*score);
            1
        }
        (RecordBody::Evidence(e), RecordCheck::Evidence) => {
            // The uploader is the device that pushed the record with this
            // sha256: an edit that names the same photo keeps it (a collector
            // device editing a pulled record has not the bytes to send).
            let uploader: String = tx
                .prepare_cached(&format!(
                    "INSERT INTO evidence (id, unit, device_id, assessment, indicator, sha256,
                        size, content_type, version, hash, updated_at, uploader, added_seq,
                        added_difficult)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?3, ?12, ?13)
                     ON CONFLICT (id) DO UPDATE SET device_id = ?3, assessment = ?4,
                        indicator = ?5, sha256 = ?6, size = ?7, content_type = ?8, version = ?9,
                        hash = ?10, updated_at = ?11,
                        uploader = CASE WHEN sha256 = ?6 THEN uploader ELSE ?3 END,
                        {FIRST_STORE_KEPT}
                     RETURNING uploader"
                ))?
                .query_row(
                    params![
                        id_text,
                        unit,
                        device_id,
                        e.assessment.to_string(),
                        e.indicator.as_str(),
                        e.sha256,
                        e.size,
                        e.content_type,
                        env.version,
                        hash_value(&env.hash),
                        t.text,
                        first.as_ref().map(|f| f.seq),
                        first.as_ref().map(|f| f.difficult)
                    ],
                    |r| r.get(0),
                )?;
            if uploader == device_id {
                announce_upload(tx, device_id, &e.sha256, e.size)?;
            }
            2
        }
        _ => return Err(StorageError::Corrupt("record check does not match".into())),
    };
    // The people this device pushed: what it may write and pull as `own_records`.
    if let Some(person) = subject.as_ref().filter(|p| !memo.linked.contains(*p)) {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO device_people (device_id, person) VALUES (?1, ?2)",
        )?
        .execute(params![device_id, person])?;
        memo.linked.insert(person.clone());
    }
    if record_kind == 0 {
        memo.people.insert(id_text.clone(), owner.clone());
    }
    // A later version: what devices pull is the record as now stored
    // (pull.rs rebuilds it, and takes the unit from its row).
    if first.is_none() {
        let seq = memo.next_seq(tx)?;
        tx.prepare_cached(
            "INSERT INTO changes (seq, kind, subject, origin, at, record_kind, record, difficult)
             VALUES (?1, 'record', ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            seq,
            subject,
            device_id,
            t.millis,
            record_kind,
            // A person is its own subject.
            (record_kind != 0).then_some(&id_text),
            difficult
        ])?;
    }
    Ok(ack)
}

pub(super) fn apply_push(
    db: &SqliteStorage,
    device_ref: &DeviceRef,
    key: &BatchKey,
    records: &[PreparedRecord],
) -> StorageResult<PushOutcome> {
    let mut conn = db.conn()?;
    // IMMEDIATE: take the write lock first, so two retries of one batch
    // racing each other serialise here and the second sees the first.
    let tx = write_tx(&mut conn)?;
    let device = device_ref.device_id.to_string();
    let seen: Option<(String, String, String)> = tx
        .prepare_cached(
            "SELECT device_id, content_hash, response FROM batches WHERE batch_id = ?1",
        )?
        .query_row([key.batch_id.to_string()], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                batch_answers::read_response(r.get_ref(2)?)?,
            ))
        })
        .optional()?;
    if let Some((by, hash, response)) = seen {
        return Ok(if by == device && hash == key.content_hash {
            PushOutcome::Replayed(response)
        } else {
            PushOutcome::BatchConflict
        });
    }
    let last: u64 = tx
        .prepare_cached("SELECT last_push_seq FROM devices WHERE id = ?1")?
        .query_row([&device], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    if key.seq <= last {
        return Ok(PushOutcome::SeqOutOfOrder { last });
    }
    let mut acks = Vec::with_capacity(records.len());
    let mut memo = BatchMemo::default();
    // One time for the whole batch: it is applied at once.
    let t = BatchTime::now();
    for record in records {
        acks.push(apply_record(
            &tx, device_ref, &device, record, &mut memo, &t,
        )?);
    }
    write_audits(&tx, &t.text, &format!("device:{device}"), &memo.audits)?;
    let response = serde_json::to_string(&PushResponse {
        batch_id: key.batch_id,
        seq: key.seq,
        acks,
    })
    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO batches (batch_id, device_id, seq, content_hash, response, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        key.batch_id.to_string(),
        device,
        key.seq,
        key.content_hash,
        batch_answers::stored_response(&response),
        t.text
    ])?;
    tx.prepare_cached("UPDATE devices SET last_push_seq = ?2 WHERE id = ?1")?
        .execute(params![device, key.seq])?;
    memo.save_seq(&tx)?;
    tx.commit()?;
    Ok(PushOutcome::Applied(response))
}

pub(super) fn assessment_areas(
    db: &SqliteStorage,
    ids: &[Uuid],
) -> StorageResult<HashMap<Uuid, AreaType>> {
    let conn = db.conn()?;
    let mut out = HashMap::new();
    // Once per assessment of a push (up to 200): prepared once.
    let mut owner = conn.prepare_cached("SELECT unit FROM assessments WHERE id = ?1")?;
    for id in ids {
        let unit: Option<String> = owner.query_row([id.to_string()], |r| r.get(0)).optional()?;
        if let Some(row) = unit.map(|u| unit_row(&conn, &u)).transpose()?.flatten() {
            out.insert(*id, row.area);
        }
    }
    Ok(out)
}
