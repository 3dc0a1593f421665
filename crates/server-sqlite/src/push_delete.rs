//! Deletes in a push (docs/sync-protocol.md, "Deletes"): a tombstone takes
//! the record's row away (an assessment's evidence rows with it) and keeps
//! what is left in `deleted_records` (migration 0013); a push naming a
//! deleted record, or hanging on one, is answered from there.

use super::audit_at;
use super::push::{existing, may_write};
use super::push_batch::{write_audits, BatchMemo, BatchTime};
use super::units::unit_row;
use cdht_core::ids::UnitCode;
use cdht_core::sync::{Change, Deletable, RecordAck, RecordBody, RecordEnvelope, Tombstone};
use cdht_core::Code;
use cdht_server_db::rules::{
    decide_on_deleted, decide_tombstone, decided_ack, refused_ack, Decision, Deleted, Pushed,
};
use cdht_server_db::{DeviceRef, StorageError, StorageResult};
use rusqlite::{params, OptionalExtension, Transaction};

/// (version, hash, unit, person) of a deleted record.
type DeletedRow = (u32, String, String, String);

fn deleted_row(tx: &Transaction<'_>, id: &str) -> StorageResult<Option<DeletedRow>> {
    Ok(tx
        .prepare_cached("SELECT version, hash, unit, person FROM deleted_records WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?)
}

fn is_deleted(tx: &Transaction<'_>, id: &str) -> StorageResult<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM deleted_records WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A record that is not a tombstone, when it names a deleted record (its
/// id, or the person or assessment it hangs on): its ack, else `None`.
pub(super) fn on_deleted(
    tx: &Transaction<'_>,
    device: &DeviceRef,
    device_id: &str,
    env: &RecordEnvelope,
    memo: &BatchMemo,
    ack: &RecordAck,
) -> StorageResult<Option<RecordAck>> {
    let parent = match &env.body {
        RecordBody::Assessment(a) => Some(a.person.to_string()),
        RecordBody::Evidence(e) => Some(e.assessment.to_string()),
        RecordBody::Person(_) | RecordBody::Tombstone(_) => None,
    };
    let id = env.body.id().to_string();
    if let Some((version, hash, unit, person)) = deleted_row(tx, &id)? {
        let in_scope = may_write(
            tx,
            device,
            device_id,
            Some(&unit),
            Some(&person),
            &id,
            false,
            memo,
        )?;
        let pushed = Pushed {
            version: env.version,
            hash: &env.hash,
            wire_hash: &env.hash,
            link: None,
            parent_state: None,
        };
        let deleted = Deleted {
            version,
            hash: &hash,
        };
        return Ok(Some(decided_ack(
            ack.clone(),
            decide_on_deleted(&deleted, in_scope, &pushed, env.body.is_tombstone()),
        )));
    }
    if let Some(parent) = parent {
        if is_deleted(tx, &parent)? {
            return Ok(Some(refused_ack(ack.clone(), &Code::RecordDeleted)));
        }
    }
    Ok(None)
}

/// Applies one tombstone: the rules of [`decide_tombstone`], then the
/// record's row goes, `deleted_records` keeps it, and the devices holding
/// it get a `record` change carrying the tombstone.
#[allow(clippy::too_many_arguments)] // one record's inputs, as apply_record has them
pub(super) fn apply_tombstone(
    tx: &Transaction<'_>,
    device: &DeviceRef,
    device_id: &str,
    env: &RecordEnvelope,
    tombstone: &Tombstone,
    memo: &mut BatchMemo,
    t: &BatchTime,
    ack: RecordAck,
) -> StorageResult<RecordAck> {
    let id = tombstone.id.to_string();
    if let Some(ack) = on_deleted(tx, device, device_id, env, memo, &ack)? {
        return Ok(ack);
    }
    let (table, kind) = match tombstone.record {
        Deletable::Person => ("persons", 0_u8),
        Deletable::Assessment => ("assessments", 1_u8),
    };
    let mut buf = None;
    let found = existing(tx, table, &id, &mut buf)?;
    let person = match (&found, tombstone.record) {
        (_, Deletable::Person) => Some(id.clone()),
        (Some(old), Deletable::Assessment) => old.link.map(str::to_owned),
        (None, Deletable::Assessment) => None,
    };
    let in_scope = match &found {
        Some(old) => may_write(
            tx,
            device,
            device_id,
            Some(old.unit),
            person.as_deref(),
            &id,
            false,
            memo,
        )?,
        None => true,
    };
    let live_assessments = tombstone.record == Deletable::Person
        && tx
            .prepare_cached("SELECT 1 FROM assessments WHERE person = ?1 LIMIT 1")?
            .query_row([&id], |_| Ok(()))
            .optional()?
            .is_some();
    let pushed = Pushed {
        version: env.version,
        hash: &env.hash,
        wire_hash: &env.hash,
        link: None,
        parent_state: None,
    };
    let decision = decide_tombstone(found.as_ref(), in_scope, &pushed, live_assessments);
    let owner = found
        .as_ref()
        .map_or(device.unit.as_str(), |e| e.unit)
        .to_owned();
    let old_state = found.as_ref().and_then(|e| e.state);
    let held = found.is_some();
    match decision {
        Decision::Insert | Decision::Update => {}
        other => return Ok(decided_ack(ack, other)),
    }
    if !held {
        // The server never had it (its only version was refused): nobody
        // holds it, nothing is pulled, nothing is kept (an id another
        // device merely names cannot be taken from its owner this way).
        return Ok(ack);
    }
    tx.prepare_cached(
        "INSERT INTO deleted_records (id, record_kind, unit, person, version, hash, device_id,
            deleted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        kind,
        owner,
        person.as_deref().unwrap_or(&id),
        env.version,
        env.hash,
        device_id,
        t.text
    ])?;
    if tombstone.record == Deletable::Assessment {
        tx.prepare_cached("DELETE FROM evidence WHERE assessment = ?1")?
            .execute([&id])?;
        tx.prepare_cached("DELETE FROM assessments WHERE id = ?1")?
            .execute([&id])?;
        // The batch's earlier `push` rows first, so the log keeps its order.
        let actor = format!("device:{device_id}");
        write_audits(tx, &t.text, &actor, &memo.audits)?;
        memo.audits.clear();
        audit_at(
            tx,
            &t.text,
            &actor,
            "delete",
            Some(&owner),
            Some(&id),
            old_state.map(cdht_core::sync::ReviewState::as_str),
            Some("deleted"),
            None,
        )?;
    } else {
        tx.prepare_cached("DELETE FROM persons WHERE id = ?1")?
            .execute([&id])?;
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
    let body = serde_json::to_string(&change).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let seq = memo.next_seq(tx)?;
    tx.prepare_cached(
        "INSERT INTO changes (seq, unit, kind, subject, origin, at, body, record_kind, record,
            difficult)
         VALUES (?1, ?2, 'record', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        seq,
        owner,
        person.as_deref().unwrap_or(&id),
        device_id,
        t.millis,
        body,
        kind,
        (kind != 0).then_some(&id),
        area == cdht_core::AreaType::Difficult
    ])?;
    Ok(ack)
}
