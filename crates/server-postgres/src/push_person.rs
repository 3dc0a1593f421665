//! A pushed person's row: the keyed CCCD and the household label it keeps
//! or replaces, and the hashes of the record as devices pull it.

use crate::error::Result;
use crate::push::{FirstStore, Statements};
use cdht_core::sync::{PersonRecord, RecordBody};
use cdht_server_db::CccdUpdate;
use postgres::Transaction;

/// One person record to write, after the push rules let it through.
pub(crate) struct PersonWrite<'a> {
    pub person: &'a PersonRecord,
    pub id: &'a str,
    /// The owning unit (kept from the first push).
    pub unit: &'a str,
    pub device_id: &'a str,
    pub version: u32,
    /// The record hash as stored (keyed: the body may hold a CCCD).
    pub stored_hash: &'a str,
    pub cccd: &'a CccdUpdate,
    /// The batch did not name `household`: keep the label held.
    pub keep_household: bool,
    pub at: &'a str,
    /// A new person: the change that stores it.
    pub first: Option<&'a FirstStore>,
    /// The batch's prepared statements.
    pub statements: &'a Statements,
}

/// Inserts or replaces the person's row.
pub(crate) fn write_person(tx: &mut Transaction<'_>, w: &PersonWrite<'_>) -> Result<()> {
    let held = if w.first.is_none() {
        let st = w
            .statements
            .get(tx, "SELECT cccd_hmac, household FROM persons WHERE id = $1")?;
        tx.query_opt(&st, &[&w.id])?
            .map(|r| (r.get::<_, Option<String>>(0), r.get::<_, Option<String>>(1)))
    } else {
        // A new person has nothing held to keep.
        None
    };
    let (held_cccd, held_household) = held.unwrap_or_default();
    let cccd_hmac: Option<String> = match w.cccd {
        CccdUpdate::Set(hmac) => Some(hmac.clone()),
        CccdUpdate::Erase => None,
        CccdUpdate::Keep => held_cccd,
    };
    // A client that does not know the label keeps the one held; one
    // that does sets it, or erases it by leaving it out.
    let household: Option<String> = if w.keep_household {
        held_household
    } else {
        w.person.household.clone()
    };
    // The hashes of the person as devices pull it (no CCCD), which the pull
    // rebuilds from these columns: without the label (the clients that do
    // not ask for it), and with it.
    let pulled = PersonRecord {
        cccd: None,
        keep_cccd: cccd_hmac.is_some(),
        household: None,
        ..w.person.clone()
    };
    let sent_hash =
        cdht_core::digest::sha256_hex(&RecordBody::Person(pulled.clone()).canonical_json());
    let household_hash = household.as_ref().map(|label| {
        cdht_core::digest::sha256_hex(
            &RecordBody::Person(PersonRecord {
                household: Some(label.clone()),
                ..pulled
            })
            .canonical_json(),
        )
    });
    let st = w.statements.get(
        tx,
        &format!(
            "INSERT INTO persons (id, unit, device_id, version, hash, full_name, birth_year,
                cccd_hmac, phone, address, updated_at, sent_hash, household, household_hash,
                added_seq, added_difficult)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             ON CONFLICT (id) DO UPDATE SET device_id = $3, version = $4, hash = $5,
                full_name = $6, birth_year = $7, cccd_hmac = $8, phone = $9, address = $10,
                updated_at = $11, sent_hash = $12, household = $13, household_hash = $14,
                {}",
            crate::push::first_store_kept("persons")
        ),
    )?;
    tx.execute(
        &st,
        &[
            &w.id,
            &w.unit,
            &w.device_id,
            &i64::from(w.version),
            &w.stored_hash,
            &w.person.full_name,
            &w.person.birth_year.map(i64::from),
            &cccd_hmac,
            &w.person.phone,
            &w.person.address,
            &w.at,
            &sent_hash,
            &household,
            &household_hash,
            &w.first.map(|f| f.seq),
            &w.first.map(|f| f.difficult),
        ],
    )?;
    Ok(())
}
