//! A device's push: a batch of records, each checked and written in one
//! transaction.

use super::devices::is_device_person;
use super::evidence::announce_upload;
use super::units::{in_subtree, unit_row};
use super::{add_change, audit, now, write_tx, SqliteStorage};
use crate::rules::{decide, same_cccd, Decision, Existing, Pushed};
use crate::storage::{
    BatchKey, CccdUpdate, DeviceRef, PreparedRecord, PushOutcome, RecordCheck, StorageError,
    StorageResult,
};
use cdht_core::ids::UnitCode;
use cdht_core::sync::{
    AckOutcome, Change, DeviceScope, DeviceState, PersonRecord, PushResponse, RecordAck,
    RecordBody, RecordEnvelope, ReviewState,
};
use cdht_core::AreaType;
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
    })
}

fn assessment_person(conn: &Connection, assessment: &str) -> StorageResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT person FROM assessments WHERE id = ?1")?
        .query_row([assessment], |r| r.get(0))
        .optional()?)
}

/// Push rule 2: may this device write the record `id`, stored and owned by
/// `owner` (`None`: a new record), about `subject` (for a stored record, its
/// stored person)?
fn may_write(
    conn: &Connection,
    device: &DeviceRef,
    device_id: &str,
    owner: Option<&str>,
    subject: Option<&str>,
    id: &str,
) -> StorageResult<bool> {
    let unit = device.unit.as_str();
    match owner {
        Some(owner) => match (device.scope, subject) {
            (DeviceScope::UnitRecords, _) => in_subtree(conn, unit, owner),
            (DeviceScope::OwnRecords, Some(person)) => is_device_person(conn, device_id, person),
            // An evidence record whose assessment the server never got: only
            // the phone that sent it.
            (DeviceScope::OwnRecords, None) => Ok(owner == unit
                && conn
                    .query_row("SELECT device_id FROM evidence WHERE id = ?1", [id], |r| {
                        r.get::<_, String>(0)
                    })
                    .optional()?
                    .is_some_and(|pusher| pusher == device_id)),
        },
        None => {
            // A new record must not attach itself to somebody else's person:
            // its person, when the server knows them, must be writable too.
            let Some(person) = subject else {
                return Ok(true);
            };
            let person_unit: Option<String> = conn
                .prepare_cached("SELECT unit FROM persons WHERE id = ?1")?
                .query_row([person], |r| r.get(0))
                .optional()?;
            let Some(person_unit) = person_unit else {
                return Ok(true);
            };
            match device.scope {
                DeviceScope::UnitRecords => in_subtree(conn, unit, &person_unit),
                DeviceScope::OwnRecords => is_device_person(conn, device_id, person),
            }
        }
    }
}

/// (version, hash, unit, state, sent_hash, link) of a stored record.
type ExistingRow = (
    u32,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn existing<'a>(
    tx: &Transaction<'_>,
    table: &str,
    id: &str,
    buf: &'a mut Option<ExistingRow>,
) -> StorageResult<Option<Existing<'a>>> {
    let state_col = if table == "assessments" {
        "state"
    } else {
        "NULL"
    };
    let sent_col = if table == "persons" {
        "sent_hash"
    } else {
        "NULL"
    };
    let link_col = match table {
        "assessments" => "person",
        "evidence" => "assessment",
        _ => "NULL",
    };
    *buf = tx
        .prepare_cached(&format!(
            "SELECT version, hash, unit, {state_col}, {sent_col}, {link_col}
             FROM {table} WHERE id = ?1"
        ))?
        .query_row([id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?;
    Ok(buf
        .as_ref()
        .map(|(version, hash, unit, state, sent_hash, link)| Existing {
            version: *version,
            hash,
            sent_hash: sent_hash.as_deref(),
            unit,
            state: state.as_deref().and_then(ReviewState::parse),
            link: link.as_deref(),
        }))
}

/// What a pushed body hangs on: an assessment's person, an evidence's
/// assessment.
fn pushed_link(body: &RecordBody) -> Option<String> {
    match body {
        RecordBody::Person(_) => None,
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
    record: &PreparedRecord,
    areas: &mut HashMap<String, AreaType>,
) -> StorageResult<RecordAck> {
    let device_id = device.device_id.to_string();
    let device_id = device_id.as_str();
    let env = &record.envelope;
    let id = env.body.id();
    let mut ack = RecordAck {
        id,
        kind: env.body.kind(),
        version: env.version,
        outcome: AckOutcome::Accepted,
        code: None,
        message: None,
        score: None,
    };
    let reject = |mut ack: RecordAck, code: &str, message: String| {
        ack.outcome = AckOutcome::Rejected;
        ack.code = Some(code.to_owned());
        ack.message = Some(message);
        ack
    };
    if let RecordCheck::Rejected { code, message } = &record.check {
        return Ok(reject(ack, code, message.clone()));
    }
    let table = match env.body {
        RecordBody::Person(_) => "persons",
        RecordBody::Assessment(_) => "assessments",
        RecordBody::Evidence(_) => "evidence",
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
    let in_scope = may_write(
        tx,
        device,
        device_id,
        found.as_ref().map(|e| e.unit),
        subject.as_deref(),
        &id_text,
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
    let t = now();
    match decision {
        Decision::AlreadyHad => {
            ack.outcome = AckOutcome::AlreadyHad;
            if let RecordCheck::Assessment { score } = &record.check {
                ack.score = Some(*score);
            }
            return Ok(ack);
        }
        Decision::Superseded => {
            ack.outcome = AckOutcome::Superseded;
            return Ok(ack);
        }
        Decision::Reject { code, message } => return Ok(reject(ack, code, message.to_owned())),
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
        if let Some(Decision::Reject { code, message }) = same_cccd(others) {
            return Ok(reject(ack, code, message.to_owned()));
        }
    }
    // What devices pull: the stored version, a person without the CCCD.
    let mut pulled = env.clone();
    match (&env.body, &record.check) {
        (RecordBody::Person(p), RecordCheck::Person { cccd, .. }) => {
            let cccd_hmac: Option<String> = match cccd {
                CccdUpdate::Set(hmac) => Some(hmac.clone()),
                CccdUpdate::Erase => None,
                CccdUpdate::Keep => tx
                    .prepare_cached("SELECT cccd_hmac FROM persons WHERE id = ?1")?
                    .query_row([&id_text], |r| r.get(0))
                    .optional()?
                    .flatten(),
            };
            pulled.body = RecordBody::Person(PersonRecord {
                cccd: None,
                keep_cccd: cccd_hmac.is_some(),
                ..p.clone()
            });
            pulled.hash = crate::sha256_hex(&pulled.body.canonical_json());
            tx.prepare_cached(
                "INSERT INTO persons (id, unit, device_id, version, hash, full_name, birth_year,
                    cccd_hmac, phone, address, updated_at, sent_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (id) DO UPDATE SET device_id = ?3, version = ?4, hash = ?5,
                    full_name = ?6, birth_year = ?7, cccd_hmac = ?8, phone = ?9, address = ?10,
                    updated_at = ?11, sent_hash = ?12",
            )?
            .execute(params![
                id_text,
                unit,
                device_id,
                env.version,
                stored_hash,
                p.full_name,
                p.birth_year,
                cccd_hmac,
                p.phone,
                p.address,
                t,
                pulled.hash
            ])?;
        }
        (RecordBody::Assessment(a), RecordCheck::Assessment { score }) => {
            let state = match a.state {
                DeviceState::Draft => ReviewState::Draft,
                DeviceState::Submitted => ReviewState::Submitted,
            };
            let answers = serde_json::to_string(&a.answers)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?;
            tx.prepare_cached(
                "INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp, answers,
                    version, hash, state, total, passed, threshold, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (id) DO UPDATE SET device_id = ?3, person = ?4, year = ?5,
                    catalog = ?6, grp = ?7, answers = ?8, version = ?9, hash = ?10, state = ?11,
                    total = ?12, passed = ?13, threshold = ?14, updated_at = ?15",
            )?
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
                env.hash,
                state.as_str(),
                score.total,
                score.passed,
                score.threshold,
                t
            ])?;
            if old_state != Some(state) {
                audit(
                    tx,
                    &format!("device:{device_id}"),
                    "push",
                    Some(unit),
                    Some(&id_text),
                    old_state.map(ReviewState::as_str),
                    Some(state.as_str()),
                    None,
                )?;
            }
            ack.score = Some(*score);
        }
        (RecordBody::Evidence(e), RecordCheck::Evidence) => {
            // The uploader is the device that pushed the record with this
            // sha256: an edit that names the same photo keeps it (a collector
            // device editing a pulled record has not the bytes to send).
            let uploader: String = tx
                .prepare_cached(
                    "INSERT INTO evidence (id, unit, device_id, assessment, indicator, sha256,
                        size, content_type, version, hash, updated_at, uploader)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?3)
                     ON CONFLICT (id) DO UPDATE SET device_id = ?3, assessment = ?4,
                        indicator = ?5, sha256 = ?6, size = ?7, content_type = ?8, version = ?9,
                        hash = ?10, updated_at = ?11,
                        uploader = CASE WHEN sha256 = ?6 THEN uploader ELSE ?3 END
                     RETURNING uploader",
                )?
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
                        env.hash,
                        t
                    ],
                    |r| r.get(0),
                )?;
            if uploader == device_id {
                announce_upload(tx, device_id, &e.sha256, e.size)?;
            }
        }
        _ => return Err(StorageError::Corrupt("record check does not match".into())),
    }
    // The people this device pushed: what it may write and pull as `own_records`.
    if let Some(person) = &subject {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO device_people (device_id, person) VALUES (?1, ?2)",
        )?
        .execute(params![device_id, person])?;
    }
    // The unit's area (a walk up the tree) is the same for a whole batch.
    let area = match areas.get(unit) {
        Some(area) => *area,
        None => {
            let area = unit_row(tx, unit)?.map(|r| r.area).unwrap_or_default();
            areas.insert(unit.to_owned(), area);
            area
        }
    };
    add_change(
        tx,
        Some(unit),
        subject.as_deref(),
        Some(device_id),
        &Change::Record {
            unit: UnitCode::new(unit),
            area,
            record: RecordEnvelope {
                version: pulled.version,
                hash: pulled.hash,
                body: pulled.body,
            },
        },
    )?;
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
        .query_row(
            "SELECT device_id, content_hash, response FROM batches WHERE batch_id = ?1",
            [key.batch_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((by, hash, response)) = seen {
        return Ok(if by == device && hash == key.content_hash {
            PushOutcome::Replayed(response)
        } else {
            PushOutcome::BatchConflict
        });
    }
    let last: u64 = tx
        .query_row(
            "SELECT last_push_seq FROM devices WHERE id = ?1",
            [&device],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    if key.seq <= last {
        return Ok(PushOutcome::SeqOutOfOrder { last });
    }
    let mut acks = Vec::with_capacity(records.len());
    let mut areas = HashMap::new();
    for record in records {
        acks.push(apply_record(&tx, device_ref, record, &mut areas)?);
    }
    let response = serde_json::to_string(&PushResponse {
        batch_id: key.batch_id,
        seq: key.seq,
        acks,
    })
    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO batches (batch_id, device_id, seq, content_hash, response, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            key.batch_id.to_string(),
            device,
            key.seq,
            key.content_hash,
            response,
            now()
        ],
    )?;
    tx.execute(
        "UPDATE devices SET last_push_seq = ?2 WHERE id = ?1",
        params![device, key.seq],
    )?;
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
