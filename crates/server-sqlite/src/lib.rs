//! The SQLite backend of the sync server's [`Storage`]: one file in the data
//! directory, WAL mode, numbered migrations embedded in the binary
//! (`migrations/`), and a guard against a file a newer server migrated.

mod batch_answers;
mod catalogs;
mod detail;
mod devices;
mod documents;
mod evidence;
mod exemplary;
mod hashes;
mod points;
mod portable;
mod pull;
mod push;
mod push_batch;
mod push_delete;
mod push_person;
mod queue;
mod report;
mod review;
mod units;

use cdht_core::ids::{AssessmentId, DeviceId, PersonId, UnitCode};
use cdht_core::sync::{Change, EvidenceStatus, PullResponse, RoleGrant};
use cdht_core::{AreaType, Catalog};
use cdht_server_db::{
    AssessmentSummary, AuditEntry, BatchKey, DeviceRef, DuplicatePage, EnrolDevice,
    ExemplaryCandidate, ExemplaryCandidatePage, ExemplaryGrant, NewUnit, PoolSettings,
    PreparedRecord, PushOutcome, Reader, Recognition, ReviewAction, Stats, Storage, StorageError,
    StorageResult, Subject, UnitRow, UnitUpdate, UploadKey, UploadProgress,
};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::HashMap;
use std::path::Path;
use uuid::Uuid;

use hashes::{hash_text, hash_value};

/// The migrations, in order; `PRAGMA user_version` says how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_settings.sql"),
    include_str!("../migrations/0003_pull_records.sql"),
    include_str!("../migrations/0004_pull_index.sql"),
    include_str!("../migrations/0005_duplicate_groups.sql"),
    include_str!("../migrations/0006_exemplary_titles.sql"),
    include_str!("../migrations/0007_change_log_references.sql"),
    include_str!("../migrations/0008_uploads_per_device.sql"),
    include_str!("../migrations/0009_reports.sql"),
    include_str!("../migrations/0010_audit_by_assessment.sql"),
    include_str!("../migrations/0011_household_label.sql"),
    include_str!("../migrations/0012_records_carry_their_change.sql"),
    include_str!("../migrations/0013_deletes.sql"),
];

/// The unit and every unit below it, as `sub(code)`, for `?1` = the root.
const SUBTREE: &str = "WITH RECURSIVE sub(code) AS (SELECT ?1 UNION ALL \
                       SELECT u.code FROM units u JOIN sub ON u.parent = sub.code)";

/// How long a writer waits for the write lock before `503 busy`: a crowd of
/// 50 enrolments or a few 200-record pushes ahead of it clear well within it.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How much of the database file each connection maps (address space, not
/// memory: pages are shared with the OS cache).
const MMAP_SIZE: u64 = 1 << 30;

pub struct SqliteStorage {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

/// Now, as rows keep times ([`cdht_server_db::stored_time`]).
pub(crate) fn now() -> String {
    cdht_server_db::stored_time(chrono::Utc::now())
}

impl SqliteStorage {
    /// Opens (creating if needed) `DIR/cdht.sqlite3` and runs pending migrations.
    pub fn open(dir: &Path) -> StorageResult<Self> {
        Self::open_with(dir, PoolSettings::DEFAULT)
    }

    /// [`Self::open`] with a pool of its own size.
    pub fn open_with(dir: &Path, pool: PoolSettings) -> StorageResult<Self> {
        let manager = SqliteConnectionManager::file(dir.join("cdht.sqlite3")).with_init(|c| {
            // WAL: readers never block the writer; busy_timeout: writers queue
            // instead of failing under a burst of pushes. FULL: a commit is on
            // disk before its answer leaves. A push's answer lets the phone
            // stop sending those records, and with NORMAL a power cut could
            // roll the last commits back, lose them, and hand their change
            // positions to other records behind cursors phones already hold.
            c.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA foreign_keys = ON;",
            )?;
            // Reads through a memory map: a province's report walks a few
            // hundred MB of index pages, which `pread` would copy once more.
            c.execute_batch(&format!("PRAGMA mmap_size = {MMAP_SIZE};"))?;
            // Every statement of a push is prepared once per connection, not
            // once per record; a push uses about 25 distinct ones.
            c.set_prepared_statement_cache_capacity(64);
            c.busy_timeout(BUSY_TIMEOUT)
        });
        let pool = r2d2::Pool::builder()
            .max_size(pool.size)
            .connection_timeout(pool.wait)
            .build(manager)?;
        let mut conn = pool.get()?;
        let done: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if done > MIGRATIONS.len() {
            return Err(StorageError::SchemaTooNew {
                found: u32::try_from(done).unwrap_or(u32::MAX),
                known: MIGRATIONS.len() as u32,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            let tx = write_tx(&mut conn)?;
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            tx.commit()?;
        }
        drop(conn);
        Ok(Self { pool })
    }

    /// Replaces the plain sha256 hashes older versions stored of pushed
    /// person records and batches (both may hold a CCCD) by `key(hash)`,
    /// once (the setting `plain_hashes_keyed` records it); then rewrites
    /// the file and empties the WAL, so no old value stays in a free page.
    /// Needs the server secret, hence not a SQL migration.
    pub fn key_plain_hashes(&self, key: &dyn Fn(&str) -> String) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let tx = rusqlite::Transaction::new(&mut conn, rusqlite::TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM settings WHERE key = 'plain_hashes_keyed')",
            [],
            |r| r.get(0),
        )?;
        if done {
            return Ok(());
        }
        let mut changed = 0;
        for (table, id_col, hash_col) in [
            ("persons", "id", "hash"),
            ("batches", "batch_id", "content_hash"),
        ] {
            let rows: Vec<(String, String)> = tx
                .prepare(&format!("SELECT {id_col}, {hash_col} FROM {table}"))?
                .query_map([], |r| {
                    Ok((r.get(0)?, hash_text(r.get_ref(1)?)?.unwrap_or_default()))
                })?
                .collect::<Result<_, _>>()?;
            for (id, plain) in rows {
                changed += tx.execute(
                    &format!("UPDATE {table} SET {hash_col} = ?2 WHERE {id_col} = ?1"),
                    params![id, key(&plain)],
                )?;
            }
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('plain_hashes_keyed', ?1)",
            [now()],
        )?;
        tx.commit()?;
        if changed > 0 {
            conn.execute_batch("VACUUM")?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    fn conn(&self) -> StorageResult<r2d2::PooledConnection<SqliteConnectionManager>> {
        Ok(self.pool.get()?)
    }

    /// A connection if one is free at once, else none (no waiting).
    fn try_conn(&self) -> Option<r2d2::PooledConnection<SqliteConnectionManager>> {
        self.pool.try_get()
    }
}

/// A transaction that may write. IMMEDIATE takes the write lock at BEGIN,
/// where SQLite's busy timeout applies; a DEFERRED one that read first and
/// then writes fails at once with "database is locked" when another writer
/// got in between (its snapshot is stale, so waiting cannot help).
fn write_tx(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// Appends a change for devices to pull. `unit`: the unit it belongs to
/// (`None`: every device, as for catalogs); `subject`: the person it concerns;
/// `origin`: the device whose push caused it (it is not sent back there).
fn add_change(
    tx: &Transaction<'_>,
    unit: Option<&str>,
    subject: Option<&str>,
    origin: Option<&str>,
    change: &Change,
) -> StorageResult<()> {
    let kind = change.kind_name();
    let body = serde_json::to_string(change).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let seq = next_change_seq(tx)?;
    tx.prepare_cached(
        "INSERT INTO changes (seq, unit, kind, subject, origin, at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![seq, unit, kind, subject, origin, now(), body])?;
    Ok(())
}

/// The next position in the change log (migration 0012), taken from the
/// counter inside the writing transaction. The transaction holds the counter
/// until it commits, so positions commit in their order: a pull that read up
/// to position n never misses a change below n committed afterwards. SQLite
/// has one writer; a database with several (issue 15) gets the same from the
/// row lock this update takes, held to the commit. A push takes its batch's
/// positions the same way, reading the counter once (push.rs).
fn next_change_seq(tx: &Transaction<'_>) -> StorageResult<i64> {
    Ok(tx
        .prepare_cached("UPDATE change_counter SET last = last + 1 RETURNING last")?
        .query_row([], |r| r.get(0))?)
}

#[allow(clippy::too_many_arguments)]
fn audit(
    tx: &Transaction<'_>,
    actor: &str,
    action: &str,
    unit: Option<&str>,
    assessment: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    detail: Option<&str>,
) -> StorageResult<()> {
    audit_at(
        tx,
        &now(),
        actor,
        action,
        unit,
        assessment,
        from,
        to,
        detail,
    )
}

/// [`audit`] at a given time.
#[allow(clippy::too_many_arguments)]
fn audit_at(
    tx: &Transaction<'_>,
    at: &str,
    actor: &str,
    action: &str,
    unit: Option<&str>,
    assessment: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    detail: Option<&str>,
) -> StorageResult<()> {
    tx.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, unit, assessment, from_state, to_state, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        at, actor, action, unit, assessment, from, to, detail
    ])?;
    Ok(())
}

impl Storage for SqliteStorage {
    fn add_units(&self, units: &[NewUnit]) -> StorageResult<()> {
        units::add_units(self, units)
    }

    fn unit(&self, code: &str) -> StorageResult<Option<UnitRow>> {
        units::unit(self, code)
    }

    fn units(&self) -> StorageResult<Vec<UnitRow>> {
        units::units(self)
    }

    fn setting(&self, key: &str) -> StorageResult<Option<String>> {
        Ok(self
            .conn()?
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_setting(&self, key: &str, value: &str) -> StorageResult<()> {
        self.conn()?.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn ancestors(&self, code: &str) -> StorageResult<Vec<UnitCode>> {
        units::ancestors(self, code)
    }

    fn set_join_key(&self, code: &str, join_key: &str) -> StorageResult<()> {
        units::set_join_key(self, code, join_key)
    }

    fn enrol_device(
        &self,
        unit: &str,
        join_key: &str,
        device: EnrolDevice<'_>,
        token_hash: &str,
    ) -> StorageResult<Option<(UnitRow, u64, DeviceId)>> {
        devices::enrol_device(self, unit, join_key, device, token_hash)
    }

    fn subject_for_token(
        &self,
        token_hash: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StorageResult<Option<Subject>> {
        devices::subject_for_token(self, token_hash, &cdht_server_db::stored_time(now))
    }

    fn add_officer(
        &self,
        username: &str,
        password_hash: &str,
        grants: &[RoleGrant],
    ) -> StorageResult<()> {
        devices::add_officer(self, username, password_hash, grants)
    }

    fn officer_login(
        &self,
        username: &str,
    ) -> StorageResult<Option<(i64, String, Vec<RoleGrant>)>> {
        devices::officer_login(self, username)
    }

    fn add_session(
        &self,
        officer_id: i64,
        token_hash: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> StorageResult<()> {
        devices::add_session(
            self,
            officer_id,
            token_hash,
            &cdht_server_db::stored_time(expires_at),
        )
    }

    fn bind_officer(&self, device_id: DeviceId, officer_id: Option<i64>) -> StorageResult<()> {
        devices::bind_officer(self, device_id, officer_id)
    }

    fn apply_push(
        &self,
        device_ref: &DeviceRef,
        key: &BatchKey,
        records: &[PreparedRecord],
    ) -> StorageResult<PushOutcome> {
        push::apply_push(self, device_ref, key, records)
    }

    fn assessment_areas(&self, ids: &[Uuid]) -> StorageResult<HashMap<Uuid, AreaType>> {
        push::assessment_areas(self, ids)
    }

    fn pull(
        &self,
        device: &DeviceRef,
        since: u64,
        limit: u32,
        household: bool,
    ) -> StorageResult<PullResponse> {
        pull::pull(self, device, since, limit, household)
    }

    fn assessment_unit(&self, id: AssessmentId) -> StorageResult<Option<UnitCode>> {
        review::assessment_unit(self, id)
    }

    fn assessment_record(
        &self,
        id: AssessmentId,
    ) -> StorageResult<Option<cdht_server_db::AssessmentRecord>> {
        detail::assessment_record(self, id)
    }

    fn list_assessments(&self, unit: &str) -> StorageResult<Vec<AssessmentSummary>> {
        review::list_assessments(self, unit)
    }

    fn review(&self, id: AssessmentId, actor: &str, action: &ReviewAction) -> StorageResult<()> {
        review::review(self, id, actor, action)
    }

    fn recognise(&self, unit: &str, actor: &str, rec: &Recognition) -> StorageResult<()> {
        review::recognise(self, unit, actor, rec)
    }

    fn duplicates(
        &self,
        unit: &str,
        after: Option<AssessmentId>,
        limit: u32,
    ) -> StorageResult<DuplicatePage> {
        review::duplicates(self, unit, after, limit)
    }

    fn audit(&self, unit: &str) -> StorageResult<Vec<AuditEntry>> {
        review::audit_log(self, unit)
    }

    fn exemplary_candidates(
        &self,
        unit: &str,
        year: u16,
        after: Option<PersonId>,
        limit: u32,
    ) -> StorageResult<ExemplaryCandidatePage> {
        exemplary::exemplary_candidates(self, unit, year, after, limit)
    }

    fn grant_exemplary(
        &self,
        unit: &str,
        actor: &str,
        grant: &ExemplaryGrant,
        status: &dyn Fn(&ExemplaryCandidate) -> StorageResult<cdht_core::ExemplaryStatus>,
    ) -> StorageResult<()> {
        exemplary::grant_exemplary(self, unit, actor, grant, status)
    }

    fn report_facts(
        &self,
        unit: &str,
        year: u16,
    ) -> StorageResult<cdht_server_db::facts::ReportFacts> {
        report::report_facts(self, unit, year)
    }

    fn person_names(&self, ids: &[String]) -> StorageResult<HashMap<String, String>> {
        report::person_names(self, ids)
    }

    fn review_queue(
        &self,
        unit: &str,
        filter: &cdht_server_db::queue::QueueFilter,
    ) -> StorageResult<cdht_server_db::queue::QueuePage> {
        queue::review_queue(self, unit, filter)
    }

    fn certificate(
        &self,
        id: AssessmentId,
        new_token: &str,
    ) -> StorageResult<Option<cdht_server_db::facts::CertificateFacts>> {
        documents::certificate(self, id, new_token)
    }

    fn verify_certificate(
        &self,
        token: &str,
    ) -> StorageResult<Option<cdht_server_db::facts::CertificateFacts>> {
        documents::verify(self, token)
    }

    fn decision_list(
        &self,
        unit: &str,
        decision_no: &str,
    ) -> StorageResult<Vec<cdht_server_db::facts::DecisionRow>> {
        documents::decision_list(self, unit, decision_no)
    }

    fn evidence_status(
        &self,
        reader: &Reader,
        sha256: &[String],
    ) -> StorageResult<Vec<EvidenceStatus>> {
        evidence::evidence_status(self, reader, sha256)
    }

    fn upload_progress(&self, key: &UploadKey) -> StorageResult<Option<UploadProgress>> {
        evidence::upload_progress(self, key)
    }

    fn upload_add_chunk(&self, key: &UploadKey, offset: u64, len: u64) -> StorageResult<bool> {
        evidence::upload_add_chunk(self, key, offset, len)
    }

    fn upload_finish(&self, key: &UploadKey, ok: bool) -> StorageResult<()> {
        evidence::upload_finish(self, key, ok)
    }

    fn stuck_uploads(&self) -> StorageResult<Vec<UploadKey>> {
        evidence::stuck_uploads(self)
    }

    fn readable_photo(&self, sha256: &str, reader: &Reader) -> StorageResult<Option<u64>> {
        evidence::readable_photo(self, sha256, reader)
    }

    fn catalogs(&self) -> StorageResult<Vec<Catalog>> {
        catalogs::catalogs(self)
    }

    fn catalog_revisions(&self) -> StorageResult<Vec<(String, u32)>> {
        catalogs::catalog_revisions(self)
    }

    fn add_catalog(&self, catalog: &Catalog) -> StorageResult<()> {
        catalogs::add_catalog(self, catalog)
    }

    fn announce_shipped_catalog(&self, catalog: &Catalog) -> StorageResult<bool> {
        catalogs::announce_shipped_catalog(self, catalog)
    }

    fn import_units(
        &self,
        new: &[NewUnit],
        updates: &[UnitUpdate],
    ) -> StorageResult<Vec<UnitCode>> {
        units::import_units(self, new, updates)
    }

    fn stats(&self) -> StorageResult<Stats> {
        let conn = self.conn()?;
        let count =
            |sql: &str| -> StorageResult<u64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(Stats {
            persons: count("SELECT COUNT(*) FROM persons")?,
            assessments: count("SELECT COUNT(*) FROM assessments")?,
            evidence_records: count("SELECT COUNT(*) FROM evidence")?,
            blobs_complete: count("SELECT COUNT(DISTINCT sha256) FROM uploads WHERE complete = 1")?,
            evidence_bytes_accepted: count("SELECT COALESCE(SUM(accepted_bytes), 0) FROM uploads")?,
            batches: count("SELECT COUNT(*) FROM batches")?,
        })
    }

    fn checkpoint(&self, wait: bool) -> StorageResult<bool> {
        let conn = self.conn()?;
        if !wait {
            // Under load: try once, never hold up the pushes behind it.
            conn.busy_timeout(std::time::Duration::ZERO)?;
        }
        // (busy, log frames, checkpointed frames); busy = 1 when readers or a
        // writer kept it from finishing.
        let result = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        });
        if !wait {
            conn.busy_timeout(BUSY_TIMEOUT)?;
        }
        match result.map_err(StorageError::from) {
            Ok(busy) => Ok(busy == 0),
            Err(e) if e.is_busy() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod connection_tests;
#[cfg(test)]
mod migration_tests;
