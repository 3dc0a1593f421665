//! What one push batch keeps while its records are applied: what it
//! learnt (so later records need not ask again), its change log positions,
//! its time.

use cdht_core::AreaType;
use cdht_server_db::StorageResult;
use rusqlite::Transaction;
use std::collections::{HashMap, HashSet};

/// What a batch learnt from its earlier records, so that its later ones
/// need not ask again (it is one transaction: what it wrote stays true).
#[derive(Default)]
pub(super) struct BatchMemo {
    /// The effective area type of units.
    pub areas: HashMap<String, AreaType>,
    /// The people it wrote, with their owning unit.
    pub people: HashMap<String, String>,
    /// The people `device_people` has for this device.
    pub linked: HashSet<String>,
    /// The points layouts looked up (`points.rs`), by indicator list.
    pub points_layouts: HashMap<String, u16>,
    /// The last change log position the batch took, once it took one.
    last_seq: Option<i64>,
}

impl BatchMemo {
    /// The next change log position. Read from the counter once, kept
    /// here, written back by [`Self::save_seq`] before the commit: the
    /// transaction holds the write lock throughout (see
    /// [`super::next_change_seq`]).
    pub(super) fn next_seq(&mut self, tx: &Transaction<'_>) -> StorageResult<i64> {
        let last = match self.last_seq {
            Some(last) => last,
            None => tx.query_row("SELECT last FROM change_counter", [], |r| r.get(0))?,
        };
        self.last_seq = Some(last + 1);
        Ok(last + 1)
    }

    pub(super) fn save_seq(&self, tx: &Transaction<'_>) -> StorageResult<()> {
        if let Some(last) = self.last_seq {
            tx.prepare_cached("UPDATE change_counter SET last = ?1")?
                .execute([last])?;
        }
        Ok(())
    }
}

/// The change that first stores a record, carried by its row (migration
/// 0012): its change log position and its unit's area type then.
pub(super) struct FirstStore {
    pub seq: i64,
    pub difficult: bool,
}

/// What a record's row keeps of its first change when it is written again
/// (the UPSERT's `DO UPDATE`, where a column names the value held): the
/// device that first pushed it, and when, once they differ from the
/// columns that now change. NULL until then, so an ingest stores nothing.
pub(super) const FIRST_STORE_KEPT: &str = "added_by = COALESCE(added_by, NULLIF(device_id, ?3)),
    added_at = COALESCE(added_at, updated_at)";

/// When a batch is applied: as RFC 3339 text ([`super::now`]) for the rows, as
/// Unix milliseconds for the change log.
pub(super) struct BatchTime {
    pub text: String,
    pub millis: i64,
}

impl BatchTime {
    pub(super) fn now() -> Self {
        let at = chrono::Utc::now();
        Self {
            text: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            millis: at.timestamp_millis(),
        }
    }
}
