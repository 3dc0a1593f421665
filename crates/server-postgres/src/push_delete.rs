//! Deletes in a push (docs/sync-protocol.md, "Deletes"), as the SQLite
//! backend does them: a tombstone takes the record's row away (an
//! assessment's evidence rows with it) and keeps what is left in
//! `deleted_records` (migration 2); a push naming a deleted record, or
//! hanging on one, is answered from there. The decisions are the shared
//! rules' (`decide_tombstone`, `decide_on_deleted`).

use crate::changes::{audit, AuditRow};
use crate::error::{corrupt, Result};
use crate::push::BatchMemo;
use crate::push_held::{held, ScopeFacts};
use crate::units::unit_row;
use cdht_core::ids::UnitCode;
use cdht_core::sync::{
    Change, Deletable, RecordAck, RecordBody, RecordEnvelope, ReviewState, Tombstone,
};
use cdht_core::Code;
use cdht_server_db::rules::{
    self, decide_on_deleted, decide_tombstone, decided_ack, refused_ack, Decision, Deleted, Pushed,
    WriteTarget,
};
use cdht_server_db::DeviceRef;
use postgres::Transaction;
use std::cell::RefCell;

/// (version, hash, unit, person) of a deleted record.
struct DeletedRow {
    version: u32,
    hash: String,
    unit: String,
    person: String,
}

fn deleted_row(tx: &mut Transaction<'_>, memo: &BatchMemo, id: &str) -> Result<Option<DeletedRow>> {
    let st = memo.statements.get(
        tx,
        "SELECT version, hash, unit, person FROM deleted_records WHERE id = $1",
    )?;
    Ok(tx.query_opt(&st, &[&id])?.map(|r| DeletedRow {
        version: u32::try_from(r.get::<_, i64>(0)).unwrap_or(u32::MAX),
        hash: r.get(1),
        unit: r.get(2),
        person: r.get(3),
    }))
}

/// Push rule 2 for a record known by its stored facts.
fn may_write(
    tx: &mut Transaction<'_>,
    device: &DeviceRef,
    device_id: &str,
    target: &WriteTarget<'_>,
    memo: &BatchMemo,
) -> Result<bool> {
    Ok(rules::may_write(
        device,
        device_id,
        target,
        &ScopeFacts {
            tx: RefCell::new(tx),
            device_id,
            memo,
        },
    )?)
}

fn pushed_of(env: &RecordEnvelope) -> Pushed<'_> {
    Pushed {
        version: env.version,
        hash: &env.hash,
        wire_hash: &env.hash,
        link: None,
        parent_state: None,
    }
}

/// A record that is not a tombstone, when it names a deleted record (its
/// id, or the person or assessment it hangs on): its ack, else `None`.
pub(crate) fn on_deleted(
    tx: &mut Transaction<'_>,
    device: &DeviceRef,
    device_id: &str,
    env: &RecordEnvelope,
    memo: &BatchMemo,
    ack: &RecordAck,
) -> Result<Option<RecordAck>> {
    let parent = match &env.body {
        RecordBody::Assessment(a) => Some(a.person.to_string()),
        RecordBody::Evidence(e) => Some(e.assessment.to_string()),
        RecordBody::Person(_) | RecordBody::Tombstone(_) => None,
    };
    let id = env.body.id().to_string();
    if let Some(gone) = deleted_row(tx, memo, &id)? {
        let target = WriteTarget {
            id: &id,
            owner: Some(&gone.unit),
            subject: Some(&gone.person),
            new_person: false,
        };
        let in_scope = may_write(tx, device, device_id, &target, memo)?;
        let deleted = Deleted {
            version: gone.version,
            hash: &gone.hash,
        };
        return Ok(Some(decided_ack(
            ack.clone(),
            decide_on_deleted(&deleted, in_scope, &pushed_of(env), env.body.is_tombstone()),
        )));
    }
    if let Some(parent) = parent {
        if deleted_row(tx, memo, &parent)?.is_some() {
            return Ok(Some(refused_ack(ack.clone(), &Code::RecordDeleted)));
        }
    }
    Ok(None)
}

/// Applies one tombstone: the rules of [`decide_tombstone`], then the
/// record's row goes, `deleted_records` keeps it, and the devices holding
/// it get a `record` change carrying the tombstone.
#[allow(clippy::too_many_arguments)] // one record's inputs, as apply_record has them
pub(crate) fn apply_tombstone(
    tx: &mut Transaction<'_>,
    device: &DeviceRef,
    device_id: &str,
    env: &RecordEnvelope,
    tombstone: &Tombstone,
    memo: &mut BatchMemo,
    at: &str,
    ack: RecordAck,
) -> Result<RecordAck> {
    let id = tombstone.id.to_string();
    if let Some(ack) = on_deleted(tx, device, device_id, env, memo, &ack)? {
        return Ok(ack);
    }
    let (table, kind) = match tombstone.record {
        Deletable::Person => ("persons", 0_i16),
        Deletable::Assessment => ("assessments", 1_i16),
    };
    let found = held(tx, &memo.statements, table, &id)?;
    let person = match (&found, tombstone.record) {
        (_, Deletable::Person) => Some(id.clone()),
        (Some(old), Deletable::Assessment) => old.link.clone(),
        (None, Deletable::Assessment) => None,
    };
    let in_scope = match &found {
        Some(old) => {
            let target = WriteTarget {
                id: &id,
                owner: Some(&old.unit),
                subject: person.as_deref(),
                new_person: false,
            };
            may_write(tx, device, device_id, &target, memo)?
        }
        None => true,
    };
    let live_assessments = tombstone.record == Deletable::Person && {
        let st = memo
            .statements
            .get(tx, "SELECT 1 FROM assessments WHERE person = $1 LIMIT 1")?;
        tx.query_opt(&st, &[&id])?.is_some()
    };
    let existing = found.as_ref().map(crate::push_held::Held::existing);
    let decision = decide_tombstone(
        existing.as_ref(),
        in_scope,
        &pushed_of(env),
        live_assessments,
    );
    let Some(old) = found else {
        // The server never had it (its only version was refused): nobody
        // holds it, nothing is pulled, nothing is kept (an id another
        // device merely names cannot be taken from its owner this way).
        return Ok(match decision {
            Decision::Insert | Decision::Update => ack,
            other => decided_ack(ack, other),
        });
    };
    match decision {
        Decision::Insert | Decision::Update => {}
        other => return Ok(decided_ack(ack, other)),
    }
    let owner = old.unit.clone();
    let old_state = old.state.as_deref().and_then(ReviewState::parse);
    let person_of = person.as_deref().unwrap_or(&id).to_owned();
    let st = memo.statements.get(
        tx,
        "INSERT INTO deleted_records (id, record_kind, unit, person, version, hash, device_id,
            deleted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )?;
    tx.execute(
        &st,
        &[
            &id,
            &kind,
            &owner,
            &person_of,
            &i64::from(env.version),
            &env.hash,
            &device_id,
            &at,
        ],
    )?;
    if tombstone.record == Deletable::Assessment {
        tx.execute("DELETE FROM evidence WHERE assessment = $1", &[&id])?;
        tx.execute("DELETE FROM assessments WHERE id = $1", &[&id])?;
        audit(
            tx,
            &AuditRow {
                at,
                actor: &format!("device:{device_id}"),
                action: "delete",
                unit: Some(&owner),
                assessment: Some(&id),
                from: old_state.map(ReviewState::as_str),
                to: Some("deleted"),
                detail: None,
            },
        )?;
    } else {
        tx.execute("DELETE FROM persons WHERE id = $1", &[&id])?;
        memo.people.remove(&id);
    }
    let area = match memo.areas.get(&owner) {
        Some(area) => *area,
        None => {
            let area = unit_row(tx, &owner)?.map(|r| r.area).unwrap_or_default();
            memo.areas.insert(owner.clone(), area);
            area
        }
    };
    let change = Change::Record {
        unit: UnitCode::new(owner.clone()),
        area,
        record: env.clone(),
    };
    let body = serde_json::to_string(&change).map_err(corrupt)?;
    let seq = memo.next_seq();
    let st = memo.statements.get(
        tx,
        "INSERT INTO changes (seq, unit, kind, subject, origin, at, body, record_kind, record,
            difficult)
         VALUES ($1, $2, 'record', $3, $4, $5, $6, $7, $8, $9)",
    )?;
    tx.execute(
        &st,
        &[
            &seq,
            &owner,
            &person_of,
            &device_id,
            &at,
            &body,
            &kind,
            &(kind != 0).then_some(&id),
            &(area == cdht_core::AreaType::Difficult),
        ],
    )?;
    Ok(ack)
}
