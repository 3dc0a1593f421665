//! What a push reads of what is stored: the record it writes again, and
//! the answers the write-scope rule asks for, inside the push's transaction.

use crate::devices::is_device_person;
use crate::error::Result;
use crate::push::{BatchMemo, Statements};
use crate::units::in_subtree;
use cdht_core::sync::ReviewState;
use cdht_server_db::rules::{Existing, ScopeLookup};
use cdht_server_db::StorageResult;
use postgres::Transaction;
use std::cell::RefCell;

/// What the write-scope rule ([`rules::may_write`]) asks, answered inside
/// the push's transaction, with what the batch wrote so far. The rule asks
/// through `&self`; the transaction's queries need it `&mut`.
pub(crate) struct ScopeFacts<'a, 't> {
    pub tx: RefCell<&'a mut Transaction<'t>>,
    pub device_id: &'a str,
    pub memo: &'a BatchMemo,
}

impl ScopeLookup for ScopeFacts<'_, '_> {
    /// Asked for most records of a collector's batch, each a walk up the
    /// tree: answered once per unit (the tree cannot change under the
    /// batch, which holds the change counter `units import` takes).
    fn in_subtree(&self, root: &str, unit: &str) -> StorageResult<bool> {
        let key = (root.to_owned(), unit.to_owned());
        if let Some(known) = self.memo.subtree.borrow().get(&key) {
            return Ok(*known);
        }
        let inside = in_subtree(*self.tx.borrow_mut(), root, unit)?;
        self.memo.subtree.borrow_mut().insert(key, inside);
        Ok(inside)
    }
    fn is_own_person(&self, person: &str) -> StorageResult<bool> {
        Ok(self.memo.linked.contains(person)
            || is_device_person(*self.tx.borrow_mut(), self.device_id, person)?)
    }
    fn evidence_pusher(&self, id: &str) -> StorageResult<Option<String>> {
        let mut tx = self.tx.borrow_mut();
        let st = self
            .memo
            .statements
            .get(&mut tx, "SELECT device_id FROM evidence WHERE id = $1")?;
        Ok(tx
            .query_opt(&st, &[&id])
            .map_err(crate::Error::from)?
            .map(|r| r.get(0)))
    }
    fn person_unit(&self, person: &str) -> StorageResult<Option<String>> {
        if let Some(unit) = self.memo.people.get(person) {
            return Ok(Some(unit.clone()));
        }
        let mut tx = self.tx.borrow_mut();
        let st = self
            .memo
            .statements
            .get(&mut tx, "SELECT unit FROM persons WHERE id = $1")?;
        Ok(tx
            .query_opt(&st, &[&person])
            .map_err(crate::Error::from)?
            .map(|r| r.get(0)))
    }
}

/// A stored record's columns the rules read.
pub(crate) struct Held {
    pub version: u32,
    pub hash: String,
    pub unit: String,
    pub state: Option<String>,
    pub sent_hash: Option<String>,
    pub link: Option<String>,
    pub household_hash: Option<String>,
}

impl Held {
    pub fn existing(&self) -> Existing<'_> {
        Existing {
            version: self.version,
            hash: &self.hash,
            sent_hash: self.sent_hash.as_deref(),
            household_hash: self.household_hash.as_deref(),
            unit: &self.unit,
            state: self.state.as_deref().and_then(ReviewState::parse),
            link: self.link.as_deref(),
        }
    }
}

pub(crate) fn held(
    tx: &mut Transaction<'_>,
    statements: &Statements,
    table: &str,
    id: &str,
) -> Result<Option<Held>> {
    let state_col = if table == "assessments" {
        "state"
    } else {
        "NULL::text"
    };
    let (sent_col, household_col) = if table == "persons" {
        ("sent_hash", "household_hash")
    } else {
        ("NULL::text", "NULL::text")
    };
    let link_col = match table {
        "assessments" => "person",
        "evidence" => "assessment",
        _ => "NULL::text",
    };
    let st = statements.get(
        tx,
        &format!(
            "SELECT version, hash, unit, {state_col}, {sent_col}, {link_col}, {household_col}
             FROM {table} WHERE id = $1"
        ),
    )?;
    Ok(tx.query_opt(&st, &[&id])?.map(|r| Held {
        version: u32::try_from(r.get::<_, i64>(0)).unwrap_or(u32::MAX),
        hash: r.get(1),
        unit: r.get(2),
        state: r.get(3),
        sent_hash: r.get(4),
        link: r.get(5),
        household_hash: r.get(6),
    }))
}
