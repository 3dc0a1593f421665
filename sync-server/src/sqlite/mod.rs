//! The SQLite backend of [`Storage`]: one file in the data directory, WAL
//! mode, numbered migrations embedded in the binary.

use crate::rules::{decide, same_cccd, Decision, Existing, Pushed};
use crate::storage::{
    AssessmentSummary, AuditEntry, BatchKey, BlobProgress, CccdUpdate, DeviceRef, DuplicateGroup,
    DuplicateMember, DuplicatePage, EnrolDevice, EvidenceAccess, NewUnit, PreparedRecord,
    PushOutcome, Reader, Recognition, RecordCheck, Refusal, ReviewAction, Stats, Storage,
    StorageError, StorageResult, Subject, UnitRow, UnitUpdate, DUPLICATE_MEMBERS_SHOWN,
};
use cdht_core::ids::{AssessmentId, DeviceId, UnitCode};
use cdht_core::sync::{
    AckOutcome, Change, DeviceScope, DeviceState, EvidenceStatus, PersonRecord, PullResponse,
    PushResponse, RecordAck, RecordBody, RecordEnvelope, ReviewState, Role, RoleGrant,
    ServerChange,
};
use cdht_core::{AreaType, Catalog};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use uuid::Uuid;

/// The migrations, in order; `PRAGMA user_version` says how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_settings.sql"),
    include_str!("../../migrations/0003_pull_records.sql"),
    include_str!("../../migrations/0004_pull_index.sql"),
    include_str!("../../migrations/0005_duplicate_groups.sql"),
];

/// The unit and every unit below it, as `sub(code)`, for `?1` = the root.
const SUBTREE: &str = "WITH RECURSIVE sub(code) AS (SELECT ?1 UNION ALL \
                       SELECT u.code FROM units u JOIN sub ON u.parent = sub.code)";

/// How long a writer waits for the write lock before `503 busy`: a crowd of
/// 50 enrolments or a few 200-record pushes ahead of it clear well within it.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An own-records pull (`?1` unit, `?2` since, `?3` device, `?4` limit): the
/// changes of its unit and catalogs, and those of the people it pushed that
/// others made. Two index ranges (migration 0004), never a walk of the whole
/// log, so what an empty pull costs does not grow with the log.
const OWN_RECORDS_PULL: &str = "SELECT seq, at, body FROM changes WHERE seq IN (
        SELECT seq FROM changes
        WHERE kind IN ('catalog', 'unit') AND seq > ?2 AND (kind = 'catalog' OR unit = ?1)
        UNION ALL
        SELECT c.seq FROM device_people d
        JOIN changes c ON c.subject = d.person AND c.seq > ?2
        WHERE d.device_id = ?3 AND (c.origin IS NULL OR c.origin <> ?3))
     ORDER BY seq LIMIT ?4";

pub struct SqliteStorage {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl SqliteStorage {
    /// Opens (creating if needed) `DIR/cdht.sqlite3` and runs pending migrations.
    pub fn open(dir: &Path) -> StorageResult<Self> {
        let manager = SqliteConnectionManager::file(dir.join("cdht.sqlite3")).with_init(|c| {
            // WAL: readers never block the writer; busy_timeout: writers queue
            // instead of failing under a burst of pushes.
            c.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON;",
            )?;
            // Every statement of a push is prepared once per connection, not
            // once per record; a push uses about 25 distinct ones.
            c.set_prepared_statement_cache_capacity(64);
            c.busy_timeout(BUSY_TIMEOUT)
        });
        let pool = r2d2::Pool::builder()
            .max_size(crate::DB_POOL_SIZE)
            .connection_timeout(crate::DB_POOL_WAIT)
            .build(manager)?;
        let mut conn = pool.get()?;
        let done: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
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
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
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
}

/// A transaction that may write. IMMEDIATE takes the write lock at BEGIN,
/// where SQLite's busy timeout applies; a DEFERRED one that read first and
/// then writes fails at once with "database is locked" when another writer
/// got in between (its snapshot is stale, so waiting cannot help).
fn write_tx(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

fn parse_area(s: Option<String>) -> Option<AreaType> {
    match s.as_deref() {
        Some("difficult") => Some(AreaType::Difficult),
        Some("normal") => Some(AreaType::Normal),
        _ => None,
    }
}

fn unit_row(conn: &rusqlite::Connection, code: &str) -> StorageResult<Option<UnitRow>> {
    let row = conn
        .prepare_cached(
            "SELECT code, name, kind, parent, area, join_key FROM units WHERE code = ?1",
        )?
        .query_row([code], |r| {
            Ok(UnitRow {
                code: UnitCode::new(r.get::<_, String>(0)?),
                name: r.get(1)?,
                kind: r.get(2)?,
                parent: r.get::<_, Option<String>>(3)?.map(UnitCode::new),
                own_area: parse_area(r.get(4)?),
                area: AreaType::Normal,
                join_key: r.get(5)?,
            })
        })
        .optional()?;
    let Some(mut row) = row else { return Ok(None) };
    // Inherit the area type from the nearest ancestor that sets it.
    let mut area = row.own_area;
    let mut parent = row.parent.clone();
    while area.is_none() {
        let Some(p) = parent else { break };
        let (a, pp): (Option<String>, Option<String>) = conn
            .prepare_cached("SELECT area, parent FROM units WHERE code = ?1")?
            .query_row([p.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        area = parse_area(a);
        parent = pp.map(UnitCode::new);
    }
    row.area = area.unwrap_or_default();
    Ok(Some(row))
}

/// A catalog change, for every device (no unit, subject or origin).
fn add_catalog_change(tx: &Transaction<'_>, catalog: &Catalog) -> StorageResult<()> {
    add_change(
        tx,
        None,
        None,
        None,
        &Change::Catalog {
            catalog: catalog.clone(),
        },
    )
}

/// The upload state of a blob.
fn blob_row(conn: &rusqlite::Connection, sha256: &str) -> StorageResult<Option<BlobProgress>> {
    Ok(conn
        .query_row(
            "SELECT size, received, complete FROM blobs WHERE sha256 = ?1",
            [sha256],
            |r| {
                Ok(BlobProgress {
                    size: r.get(0)?,
                    received: r.get(1)?,
                    complete: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn grants(conn: &rusqlite::Connection, officer_id: i64) -> StorageResult<Vec<RoleGrant>> {
    let mut stmt = conn.prepare(
        "SELECT role, unit FROM officer_roles WHERE officer_id = ?1 ORDER BY unit, role",
    )?;
    let rows = stmt.query_map([officer_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (role, unit) = row?;
        let role = Role::parse(&role).ok_or_else(|| StorageError::Corrupt(role.clone()))?;
        out.push(RoleGrant {
            role,
            unit: UnitCode::new(unit),
        });
    }
    Ok(out)
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
    let kind = match change {
        Change::Review { .. } => "review",
        Change::Recognition { .. } => "recognition",
        Change::Unit { .. } => "unit",
        Change::Record { .. } => "record",
        Change::Catalog { .. } => "catalog",
    };
    let body = serde_json::to_string(change).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO changes (unit, kind, subject, origin, at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![unit, kind, subject, origin, now(), body])?;
    Ok(())
}

/// The unit itself, then its parent, up to the root (bounded, so a broken
/// tree with a cycle cannot loop forever).
fn ancestor_chain(conn: &Connection, code: &str) -> StorageResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut next = Some(code.to_owned());
    while let Some(c) = next.take() {
        if out.len() > 64 || out.contains(&c) {
            break;
        }
        let parent: Option<Option<String>> = conn
            .prepare_cached("SELECT parent FROM units WHERE code = ?1")?
            .query_row([&c], |r| r.get(0))
            .optional()?;
        let Some(parent) = parent else { break };
        out.push(c);
        next = parent;
    }
    Ok(out)
}

/// Whether `code` is `root` or below it.
fn in_subtree(conn: &Connection, root: &str, code: &str) -> StorageResult<bool> {
    Ok(ancestor_chain(conn, code)?.iter().any(|a| a == root))
}

fn is_device_person(conn: &Connection, device_id: &str, person: &str) -> StorageResult<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM device_people WHERE device_id = ?1 AND person = ?2)",
        )?
        .query_row(params![device_id, person], |r| r.get(0))?)
}

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
    tx.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, unit, assessment, from_state, to_state, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        now(),
        actor,
        action,
        unit,
        assessment,
        from,
        to,
        detail
    ])?;
    Ok(())
}

/// Other assessments of the same person (same keyed CCCD) in the same year
/// as `assessment`: likely duplicates, grouped at read time, never merged.
const SAME_PERSON_YEAR: &str = "SELECT o.id FROM assessments a
     JOIN persons p ON p.id = a.person
     JOIN persons op ON op.cccd_hmac = p.cccd_hmac
     JOIN assessments o ON o.person = op.id AND o.year = a.year
     WHERE a.id = ?1 AND p.cccd_hmac IS NOT NULL AND o.id <> a.id";

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
            tx.prepare_cached(
                "INSERT INTO evidence (id, unit, device_id, assessment, indicator, sha256, size,
                    content_type, version, hash, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (id) DO UPDATE SET device_id = ?3, assessment = ?4, indicator = ?5,
                    sha256 = ?6, size = ?7, content_type = ?8, version = ?9, hash = ?10,
                    updated_at = ?11",
            )?
            .execute(params![
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
            ])?;
            tx.prepare_cached("INSERT OR IGNORE INTO blobs (sha256, size) VALUES (?1, ?2)")?
                .execute(params![e.sha256, e.size])?;
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

fn insert_units(tx: &Transaction<'_>, units: &[NewUnit]) -> StorageResult<()> {
    let at = now();
    for unit in units {
        tx.execute(
            "INSERT INTO units (code, name, kind, parent, area, join_key, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                unit.code.as_str(),
                unit.name,
                unit.kind,
                unit.parent.as_ref().map(UnitCode::as_str),
                unit.area.map(AreaType::as_str),
                unit.join_key,
                at
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StorageError::refused(
                    Refusal::Conflict,
                    "unit_exists",
                    format!(
                        "unit {} exists already, or its parent does not exist",
                        unit.code
                    ),
                )
            }
            other => other.into(),
        })?;
    }
    Ok(())
}

fn parse_assessment_id(s: &str) -> StorageResult<AssessmentId> {
    s.parse()
        .map_err(|_| StorageError::Corrupt(format!("assessment id {s}")))
}

impl Storage for SqliteStorage {
    fn add_units(&self, units: &[NewUnit]) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        insert_units(&tx, units)?;
        tx.commit()?;
        Ok(())
    }

    fn unit(&self, code: &str) -> StorageResult<Option<UnitRow>> {
        unit_row(&*self.conn()?, code)
    }

    fn units(&self) -> StorageResult<Vec<UnitRow>> {
        let conn = self.conn()?;
        let codes: Vec<String> = {
            let mut stmt = conn.prepare("SELECT code FROM units ORDER BY code")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            if let Some(row) = unit_row(&conn, &code)? {
                out.push(row);
            }
        }
        Ok(out)
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
        Ok(ancestor_chain(&*self.conn()?, code)?
            .into_iter()
            .map(UnitCode::new)
            .collect())
    }

    fn set_join_key(&self, code: &str, join_key: &str) -> StorageResult<()> {
        let n = self.conn()?.execute(
            "UPDATE units SET join_key = ?2, updated_at = ?3 WHERE code = ?1",
            params![code, join_key, now()],
        )?;
        if n == 0 {
            return Err(StorageError::refused(
                Refusal::NotFound,
                "unknown_unit",
                "Không có đơn vị này.",
            ));
        }
        Ok(())
    }

    fn enrol_device(
        &self,
        unit: &str,
        join_key: &str,
        device: EnrolDevice<'_>,
        token_hash: &str,
    ) -> StorageResult<Option<(UnitRow, u64, DeviceId)>> {
        let label = device.label;
        let mut conn = self.conn()?;
        let Some(row) = unit_row(&conn, unit)? else {
            return Ok(None);
        };
        if !constant_time_eq(row.join_key.as_bytes(), join_key.as_bytes()) {
            return Ok(None);
        }
        let tx = write_tx(&mut conn)?;
        let mut device_id = device.device_id;
        let held: Option<(String, u64, String)> = tx
            .query_row(
                "SELECT unit, last_push_seq, token_hash FROM devices WHERE id = ?1",
                [device_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        // A known id is bound to its first enrolment: only its own token
        // re-enrols it. Anybody else (the join key is on a public poster)
        // gets a new id and never the phone's token, seq or people.
        let known = match held {
            Some((old_unit, seq, held_token)) => {
                let own = device
                    .current_token_hash
                    .is_some_and(|t| constant_time_eq(t.as_bytes(), held_token.as_bytes()));
                if own {
                    Some((old_unit, seq))
                } else {
                    device_id = DeviceId::new_v7();
                    None
                }
            }
            None => None,
        };
        // A device moving to another unit starts a new push sequence there,
        // and leaves the people of its old unit behind.
        let last_seq = match known {
            Some((old_unit, seq)) if old_unit == unit => seq,
            Some(_) => {
                tx.execute(
                    "DELETE FROM device_people WHERE device_id = ?1",
                    [device_id.to_string()],
                )?;
                0
            }
            None => 0,
        };
        // A re-enrolment drops an officer binding: whoever holds the phone now
        // has only scanned a poster.
        tx.execute(
            "INSERT INTO devices (id, unit, label, token_hash, last_push_seq, enrolled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET unit = ?2, label = ?3, token_hash = ?4,
                last_push_seq = ?5, enrolled_at = ?6, officer_id = NULL,
                scope = 'own_records'",
            params![
                device_id.to_string(),
                unit,
                label,
                token_hash,
                last_seq,
                now()
            ],
        )?;
        tx.commit()?;
        Ok(Some((row, last_seq, device_id)))
    }

    fn subject_for_token(&self, token_hash: &str, now: &str) -> StorageResult<Option<Subject>> {
        let conn = self.conn()?;
        let device: Option<(String, String, String)> = conn
            .query_row(
                "SELECT id, unit, scope FROM devices WHERE token_hash = ?1",
                [token_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((id, unit, scope)) = device {
            let device_id = id
                .parse()
                .map_err(|_| StorageError::Corrupt(format!("device id {id}")))?;
            let scope = DeviceScope::parse(&scope)
                .ok_or_else(|| StorageError::Corrupt(format!("device scope {scope}")))?;
            return Ok(Some(Subject::Device(DeviceRef {
                device_id,
                unit: UnitCode::new(unit),
                scope,
            })));
        }
        let officer: Option<(i64, String)> = conn
            .query_row(
                "SELECT o.id, o.username FROM sessions s JOIN officers o ON o.id = s.officer_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                params![token_hash, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((id, username)) = officer else {
            return Ok(None);
        };
        Ok(Some(Subject::Officer {
            id,
            username,
            grants: grants(&conn, id)?,
        }))
    }

    fn add_officer(
        &self,
        username: &str,
        password_hash: &str,
        grants: &[RoleGrant],
    ) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO officers (username, password_hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (username) DO UPDATE SET password_hash = ?2",
            params![username, password_hash, now()],
        )?;
        let id: i64 = tx.query_row(
            "SELECT id FROM officers WHERE username = ?1",
            [username],
            |r| r.get(0),
        )?;
        for g in grants {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM units WHERE code = ?1)",
                [g.unit.as_str()],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(StorageError::refused(
                    Refusal::NotFound,
                    "unknown_unit",
                    format!("no unit {}", g.unit),
                ));
            }
            tx.execute(
                "INSERT OR IGNORE INTO officer_roles (officer_id, role, unit) VALUES (?1, ?2, ?3)",
                params![id, g.role.as_str(), g.unit.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn officer_login(
        &self,
        username: &str,
    ) -> StorageResult<Option<(i64, String, Vec<RoleGrant>)>> {
        let conn = self.conn()?;
        let row: Option<(i64, String)> = conn
            .query_row(
                "SELECT id, password_hash FROM officers WHERE username = ?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            Some((id, hash)) => Ok(Some((id, hash, grants(&conn, id)?))),
            None => Ok(None),
        }
    }

    fn add_session(
        &self,
        officer_id: i64,
        token_hash: &str,
        expires_at: &str,
    ) -> StorageResult<()> {
        let conn = self.conn()?;
        conn.execute("DELETE FROM sessions WHERE expires_at < ?1", params![now()])?;
        conn.execute(
            "INSERT INTO sessions (token_hash, officer_id, expires_at) VALUES (?1, ?2, ?3)",
            params![token_hash, officer_id, expires_at],
        )?;
        Ok(())
    }

    fn bind_officer(&self, device_id: DeviceId, officer_id: Option<i64>) -> StorageResult<()> {
        let scope = if officer_id.is_some() {
            DeviceScope::UnitRecords
        } else {
            DeviceScope::OwnRecords
        };
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        let device = device_id.to_string();
        tx.execute(
            "UPDATE devices SET officer_id = ?2, scope = ?3 WHERE id = ?1",
            params![device, officer_id, scope.as_str()],
        )?;
        // Who turned which device into a collector device (it then reads the
        // whole unit's people) belongs in the audit log.
        let unit: Option<String> = tx
            .query_row("SELECT unit FROM devices WHERE id = ?1", [&device], |r| {
                r.get(0)
            })
            .optional()?;
        let actor: Option<String> = match officer_id {
            Some(id) => tx
                .query_row("SELECT username FROM officers WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?,
            None => None,
        };
        let actor = actor.unwrap_or_else(|| format!("device:{device}"));
        let action = if officer_id.is_some() {
            "bind_officer"
        } else {
            "unbind_officer"
        };
        audit(
            &tx,
            &actor,
            action,
            unit.as_deref(),
            None,
            None,
            None,
            Some(&format!("device {device}")),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn apply_push(
        &self,
        device_ref: &DeviceRef,
        key: &BatchKey,
        records: &[PreparedRecord],
    ) -> StorageResult<PushOutcome> {
        let mut conn = self.conn()?;
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

    fn assessment_areas(&self, ids: &[Uuid]) -> StorageResult<HashMap<Uuid, AreaType>> {
        let conn = self.conn()?;
        let mut out = HashMap::new();
        // Once per assessment of a push (up to 200): prepared once.
        let mut owner = conn.prepare_cached("SELECT unit FROM assessments WHERE id = ?1")?;
        for id in ids {
            let unit: Option<String> =
                owner.query_row([id.to_string()], |r| r.get(0)).optional()?;
            if let Some(row) = unit.map(|u| unit_row(&conn, &u)).transpose()?.flatten() {
                out.insert(*id, row.area);
            }
        }
        Ok(out)
    }

    fn pull(&self, device: &DeviceRef, since: u64, limit: u32) -> StorageResult<PullResponse> {
        let conn = self.conn()?;
        // The filter is in the query, so LIMIT counts only what the device
        // gets: `more` means another matching change exists, and the cursor
        // (the last seq returned) never skips one.
        let sql = match device.scope {
            // The people it pushed (as others changed them), its unit, catalogs.
            DeviceScope::OwnRecords => OWN_RECORDS_PULL.to_owned(),
            // Everything of its subtree but its own pushes, and catalogs.
            DeviceScope::UnitRecords => format!(
                "{SUBTREE} SELECT seq, at, body FROM changes
                 WHERE seq > ?2 AND (kind = 'catalog'
                    OR (unit IN (SELECT code FROM sub)
                        AND NOT (kind = 'record' AND origin IS NOT NULL AND origin = ?3)))
                 ORDER BY seq LIMIT ?4"
            ),
        };
        let mut stmt = conn.prepare(&sql)?;
        let rows: Vec<(u64, String, String)> = stmt
            .query_map(
                params![
                    device.unit.as_str(),
                    since,
                    device.device_id.to_string(),
                    i64::from(limit) + 1
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .collect::<Result<_, _>>()?;
        let more = rows.len() > limit as usize;
        let mut changes = Vec::new();
        for (seq, at, body) in rows.into_iter().take(limit as usize) {
            let change: Change =
                serde_json::from_str(&body).map_err(|e| StorageError::Corrupt(e.to_string()))?;
            changes.push(ServerChange { seq, at, change });
        }
        let cursor = changes.last().map_or(since, |c| c.seq);
        Ok(PullResponse {
            cursor,
            more,
            changes,
        })
    }

    fn assessment_unit(&self, id: AssessmentId) -> StorageResult<Option<UnitCode>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT unit FROM assessments WHERE id = ?1",
                [id.to_string()],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(UnitCode::new))
    }

    fn list_assessments(&self, unit: &str) -> StorageResult<Vec<AssessmentSummary>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "{SUBTREE} SELECT a.id, a.unit, a.person, COALESCE(p.full_name, ''), a.year, a.catalog,
                a.grp, a.state, a.total, a.passed, a.threshold, a.version, a.return_reason,
                a.decision_no, a.decision_date
             FROM assessments a LEFT JOIN persons p ON p.id = a.person
             WHERE a.unit IN (SELECT code FROM sub) ORDER BY a.unit, a.id"
        ))?;
        let rows = stmt.query_map([unit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                AssessmentSummary {
                    id: AssessmentId::new_v7(),
                    unit: UnitCode::new(r.get::<_, String>(1)?),
                    person: r.get(2)?,
                    person_name: r.get(3)?,
                    year: r.get(4)?,
                    catalog: r.get(5)?,
                    group: r.get(6)?,
                    state: r.get(7)?,
                    total: r.get(8)?,
                    passed: r.get(9)?,
                    threshold: r.get(10)?,
                    version: r.get(11)?,
                    return_reason: r.get(12)?,
                    decision_no: r.get(13)?,
                    decision_date: r.get(14)?,
                    possible_duplicates: Vec::new(),
                },
            ))
        })?;
        let mut out = Vec::new();
        let mut dup = conn.prepare(&format!(
            "{SAME_PERSON_YEAR} ORDER BY o.id LIMIT {DUPLICATE_MEMBERS_SHOWN}"
        ))?;
        for row in rows {
            let (id, mut summary) = row?;
            summary.id = parse_assessment_id(&id)?;
            for other in dup.query_map([&id], |r| r.get::<_, String>(0))? {
                summary
                    .possible_duplicates
                    .push(parse_assessment_id(&other?)?);
            }
            out.push(summary);
        }
        Ok(out)
    }

    fn review(&self, id: AssessmentId, actor: &str, action: &ReviewAction) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        let id_text = id.to_string();
        let (unit, state, person): (String, String, String) = tx
            .query_row(
                "SELECT unit, state, person FROM assessments WHERE id = ?1",
                [&id_text],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| {
                StorageError::refused(Refusal::NotFound, "not_found", "Không có bản đánh giá này.")
            })?;
        let from =
            ReviewState::parse(&state).ok_or_else(|| StorageError::Corrupt(state.clone()))?;
        let (to, reason) = match action {
            ReviewAction::Approve => (ReviewState::Approved, None),
            ReviewAction::Return { reason } => (ReviewState::Returned, Some(reason.as_str())),
        };
        let allowed = match to {
            ReviewState::Approved => from == ReviewState::Submitted,
            _ => matches!(from, ReviewState::Submitted | ReviewState::Approved),
        };
        if !allowed {
            return Err(StorageError::refused(
                Refusal::Conflict,
                "wrong_state",
                format!(
                    "Bản đánh giá đang ở trạng thái “{}”, không thể chuyển sang “{}”.",
                    from.as_str(),
                    to.as_str()
                ),
            ));
        }
        tx.execute(
            "UPDATE assessments SET state = ?2, return_reason = ?3, updated_at = ?4 WHERE id = ?1",
            params![id_text, to.as_str(), reason, now()],
        )?;
        audit(
            &tx,
            actor,
            if to == ReviewState::Approved {
                "approve"
            } else {
                "return"
            },
            Some(&unit),
            Some(&id_text),
            Some(from.as_str()),
            Some(to.as_str()),
            reason,
        )?;
        add_change(
            &tx,
            Some(&unit),
            Some(&person),
            None,
            &Change::Review {
                assessment: id,
                state: to,
                reason: reason.map(str::to_owned),
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    fn recognise(&self, unit: &str, actor: &str, rec: &Recognition) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        for id in &rec.assessments {
            let id_text = id.to_string();
            let row: Option<(String, String, String)> = tx
                .query_row(
                    &format!(
                        "{SUBTREE} SELECT unit, state, person FROM assessments
                         WHERE id = ?2 AND unit IN (SELECT code FROM sub)"
                    ),
                    params![unit, id_text],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((a_unit, state, person)) = row else {
                return Err(StorageError::refused(
                    Refusal::NotFound,
                    "not_found",
                    format!("Không có bản đánh giá {id} trong đơn vị này."),
                ));
            };
            if state != ReviewState::Approved.as_str() {
                return Err(StorageError::refused(
                    Refusal::Conflict,
                    "wrong_state",
                    format!("Bản đánh giá {id} chưa được duyệt (trạng thái “{state}”)."),
                ));
            }
            // Counted once: the same person recognised elsewhere this year blocks it.
            let elsewhere: bool = tx.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM assessments r WHERE r.state = 'recognised'
                        AND r.id IN ({SAME_PERSON_YEAR}))"
                ),
                [&id_text],
                |r| r.get(0),
            )?;
            if elsewhere {
                return Err(StorageError::refused(
                    Refusal::Conflict,
                    "already_recognised_elsewhere",
                    format!(
                        "Người của bản đánh giá {id} đã được công nhận ở đơn vị khác trong năm nay."
                    ),
                ));
            }
            tx.execute(
                "UPDATE assessments SET state = 'recognised', decision_no = ?2,
                    decision_date = ?3, updated_at = ?4 WHERE id = ?1",
                params![id_text, rec.decision_no, rec.decision_date, now()],
            )?;
            audit(
                &tx,
                actor,
                "recognise",
                Some(&a_unit),
                Some(&id_text),
                Some("approved"),
                Some("recognised"),
                Some(&format!("{} ({})", rec.decision_no, rec.decision_date)),
            )?;
            add_change(
                &tx,
                Some(&a_unit),
                Some(&person),
                None,
                &Change::Recognition {
                    assessment: *id,
                    decision_no: rec.decision_no.clone(),
                    decision_date: rec.decision_date.clone(),
                },
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn duplicates(
        &self,
        unit: &str,
        after: Option<AssessmentId>,
        limit: u32,
    ) -> StorageResult<DuplicatePage> {
        let limit = limit.max(1);
        let conn = self.conn()?;
        // One group per keyed CCCD and year with more than one assessment,
        // one of them in the subtree; named by its first assessment id.
        let mut stmt = conn.prepare(&format!(
            "{SUBTREE} SELECT p.cccd_hmac, a.year, MIN(a.id) AS first, COUNT(*)
             FROM assessments a JOIN persons p ON p.id = a.person
             WHERE p.cccd_hmac IS NOT NULL
             GROUP BY p.cccd_hmac, a.year
             HAVING COUNT(*) > 1 AND MAX(a.unit IN (SELECT code FROM sub)) = 1
                AND first > ?2
             ORDER BY first LIMIT ?3"
        ))?;
        let after = after.map_or_else(String::new, |a| a.to_string());
        let rows: Vec<(String, u16, String, u64)> = stmt
            .query_map(params![unit, after, i64::from(limit) + 1], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let more = rows.len() > limit as usize;
        let mut members = conn.prepare(&format!(
            "{SUBTREE} SELECT a.id, a.unit FROM assessments a JOIN persons p ON p.id = a.person
             WHERE p.cccd_hmac = ?2 AND a.year = ?3
             ORDER BY a.unit IN (SELECT code FROM sub) DESC, a.id
             LIMIT {DUPLICATE_MEMBERS_SHOWN}"
        ))?;
        let mut groups = Vec::new();
        for (hmac, year, _, count) in rows.iter().take(limit as usize) {
            let assessments = members
                .query_map(params![unit, hmac, year], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .map(|row| {
                    let (id, unit) = row?;
                    Ok(DuplicateMember {
                        assessment: parse_assessment_id(&id)?,
                        unit: UnitCode::new(unit),
                    })
                })
                .collect::<StorageResult<_>>()?;
            groups.push(DuplicateGroup {
                year: *year,
                count: *count,
                assessments,
            });
        }
        let next = match (more, rows.get(limit as usize - 1)) {
            (true, Some((_, _, first, _))) => Some(parse_assessment_id(first)?),
            _ => None,
        };
        Ok(DuplicatePage { groups, next })
    }

    fn audit(&self, unit: &str) -> StorageResult<Vec<AuditEntry>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "{SUBTREE} SELECT at, actor, action, unit, assessment, from_state, to_state, detail
             FROM audit_log WHERE unit IN (SELECT code FROM sub) ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([unit], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    unit: r.get(3)?,
                    assessment: r.get(4)?,
                    from_state: r.get(5)?,
                    to_state: r.get(6)?,
                    detail: r.get(7)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn evidence_status(&self, unit: &str, sha256: &[String]) -> StorageResult<Vec<EvidenceStatus>> {
        let conn = self.conn()?;
        let mut out = Vec::with_capacity(sha256.len());
        for sha in sha256 {
            let named: Option<u64> = conn
                .query_row(
                    "SELECT size FROM evidence WHERE sha256 = ?1 AND unit = ?2 LIMIT 1",
                    params![sha, unit],
                    |r| r.get(0),
                )
                .optional()?;
            let blob: Option<(u64, u64, bool)> = conn
                .query_row(
                    "SELECT size, received, complete FROM blobs WHERE sha256 = ?1",
                    [sha],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (size, received, complete) = match (named, blob) {
                (Some(_), Some(b)) => b,
                (Some(size), None) => (size, 0, false),
                _ => (0, 0, false),
            };
            out.push(EvidenceStatus {
                sha256: sha.clone(),
                size,
                received,
                complete,
            });
        }
        Ok(out)
    }

    fn blob_progress(&self, unit: &str, sha256: &str) -> StorageResult<Option<BlobProgress>> {
        let conn = self.conn()?;
        let named: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM evidence WHERE sha256 = ?1 AND unit = ?2)",
            params![sha256, unit],
            |r| r.get(0),
        )?;
        if !named {
            return Ok(None);
        }
        blob_row(&conn, sha256)
    }

    fn blob_add_chunk(&self, sha256: &str, offset: u64, len: u64) -> StorageResult<bool> {
        let n = self.conn()?.execute(
            "UPDATE blobs SET received = received + ?3, accepted_bytes = accepted_bytes + ?3
             WHERE sha256 = ?1 AND received = ?2 AND complete = 0",
            params![sha256, offset, len],
        )?;
        Ok(n == 1)
    }

    fn blob_finish(&self, sha256: &str, ok: bool) -> StorageResult<()> {
        let sql = if ok {
            "UPDATE blobs SET complete = 1 WHERE sha256 = ?1"
        } else {
            "UPDATE blobs SET received = 0 WHERE sha256 = ?1 AND complete = 0"
        };
        self.conn()?.execute(sql, [sha256])?;
        Ok(())
    }

    fn blob_state(&self, sha256: &str) -> StorageResult<Option<BlobProgress>> {
        blob_row(&*self.conn()?, sha256)
    }

    fn stuck_blobs(&self) -> StorageResult<Vec<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT sha256 FROM blobs WHERE complete = 0 AND size > 0 AND received >= size",
        )?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn evidence_access(&self, sha256: &str, reader: &Reader) -> StorageResult<EvidenceAccess> {
        let conn = self.conn()?;
        let named: Vec<(String, String, Option<String>)> = conn
            .prepare(
                "SELECT e.unit, e.device_id, a.person FROM evidence e
                 LEFT JOIN assessments a ON a.id = e.assessment WHERE e.sha256 = ?1",
            )?
            .query_map([sha256], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        if named.is_empty() {
            return Ok(EvidenceAccess::Absent);
        }
        let mut covered = false;
        for (unit, pushed_by, person) in &named {
            covered = match reader {
                Reader::Officer(grants) => ancestor_chain(&conn, unit)?
                    .iter()
                    .any(|a| grants.iter().any(|g| g.unit.as_str() == a)),
                Reader::Device(d) if d.scope == DeviceScope::UnitRecords => {
                    in_subtree(&conn, d.unit.as_str(), unit)?
                }
                Reader::Device(d) => {
                    let me = d.device_id.to_string();
                    *pushed_by == me
                        || match person {
                            Some(p) => is_device_person(&conn, &me, p)?,
                            None => false,
                        }
                }
            };
            if covered {
                break;
            }
        }
        if !covered {
            return Ok(EvidenceAccess::OutOfScope);
        }
        let blob: Option<(u64, bool)> = conn
            .query_row(
                "SELECT size, complete FROM blobs WHERE sha256 = ?1",
                [sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match blob {
            Some((size, true)) => EvidenceAccess::Ready { size },
            _ => EvidenceAccess::Incomplete,
        })
    }

    fn catalogs(&self) -> StorageResult<Vec<Catalog>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT json FROM catalogs ORDER BY id")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        rows.iter()
            .map(|json| {
                serde_json::from_str(json).map_err(|e| StorageError::Corrupt(e.to_string()))
            })
            .collect()
    }

    fn catalog_revisions(&self) -> StorageResult<Vec<(String, u32)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT id, revision FROM catalogs ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn add_catalog(&self, catalog: &Catalog) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        let id = catalog.id.as_str();
        let installed: Option<u32> = tx
            .query_row("SELECT revision FROM catalogs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(installed) = installed {
            if catalog.revision <= installed {
                return Err(stale_revision(id, catalog.revision, installed));
            }
        }
        let json =
            serde_json::to_string(catalog).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO catalogs (id, revision, json, added_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET revision = ?2, json = ?3, added_at = ?4",
            params![id, catalog.revision, json, now()],
        )?;
        add_catalog_change(&tx, catalog)?;
        tx.commit()?;
        Ok(())
    }

    fn announce_shipped_catalog(&self, catalog: &Catalog) -> StorageResult<bool> {
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        let id = catalog.id.as_str();
        let key = format!("catalog_announced:{id}");
        let announced: u32 = tx
            .query_row("SELECT value FROM settings WHERE key = ?1", [&key], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let installed: u32 = tx
            .query_row("SELECT revision FROM catalogs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0);
        if catalog.revision <= announced.max(installed) {
            return Ok(false);
        }
        // Only devices enrolled before this start can hold an older
        // revision; later ones run a build that ships this one or newer.
        let devices: i64 = tx.query_row("SELECT count(*) FROM devices", [], |r| r.get(0))?;
        if devices > 0 {
            add_catalog_change(&tx, catalog)?;
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, catalog.revision.to_string()],
        )?;
        tx.commit()?;
        Ok(devices > 0)
    }

    fn import_units(
        &self,
        new: &[NewUnit],
        updates: &[UnitUpdate],
    ) -> StorageResult<Vec<UnitCode>> {
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        // New units first: an update may move a unit below one of them.
        insert_units(&tx, new)?;
        let codes: Vec<String> = tx
            .prepare("SELECT code FROM units ORDER BY code")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut before: HashMap<String, AreaType> = HashMap::new();
        for code in &codes {
            if let Some(row) = unit_row(&tx, code)? {
                before.insert(code.clone(), row.area);
            }
        }
        let mut changed: HashSet<String> = HashSet::new();
        for u in updates {
            let n = tx.execute(
                "UPDATE units SET name = ?2, kind = ?3, parent = ?4, area = ?5, updated_at = ?6
                 WHERE code = ?1 AND NOT (name = ?2 AND kind = ?3 AND parent IS ?4 AND area IS ?5)",
                params![
                    u.code.as_str(),
                    u.name,
                    u.kind,
                    u.parent.as_ref().map(UnitCode::as_str),
                    u.area.map(AreaType::as_str),
                    now()
                ],
            )?;
            if n > 0 {
                changed.insert(u.code.as_str().to_owned());
            }
        }
        // A new parent must not make a loop with the units already there.
        for code in &changed {
            let chain = ancestor_chain(&tx, code)?;
            let root_parent: Option<Option<String>> = match chain.last() {
                Some(last) => tx
                    .query_row("SELECT parent FROM units WHERE code = ?1", [last], |r| {
                        r.get(0)
                    })
                    .optional()?,
                None => None,
            };
            if matches!(root_parent, Some(Some(_))) {
                return Err(StorageError::refused(
                    Refusal::Conflict,
                    "cycle",
                    format!("the new parent of {code} makes a loop in the unit tree"),
                ));
            }
        }
        let mut out = Vec::new();
        for code in &codes {
            let Some(row) = unit_row(&tx, code)? else {
                continue;
            };
            let was_changed = changed.contains(code);
            if was_changed || before.get(code) != Some(&row.area) {
                add_change(
                    &tx,
                    Some(code),
                    None,
                    None,
                    &Change::Unit { unit: row.info() },
                )?;
            }
            if was_changed {
                out.push(row.code);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn stats(&self) -> StorageResult<Stats> {
        let conn = self.conn()?;
        let count =
            |sql: &str| -> StorageResult<u64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(Stats {
            persons: count("SELECT COUNT(*) FROM persons")?,
            assessments: count("SELECT COUNT(*) FROM assessments")?,
            evidence_records: count("SELECT COUNT(*) FROM evidence")?,
            blobs_complete: count("SELECT COUNT(*) FROM blobs WHERE complete = 1")?,
            evidence_bytes_accepted: count("SELECT COALESCE(SUM(accepted_bytes), 0) FROM blobs")?,
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

fn stale_revision(id: &str, revision: u32, installed: u32) -> StorageError {
    StorageError::refused(
        Refusal::Conflict,
        "stale_revision",
        format!(
            "catalog {id} revision {revision} is not above the installed revision {installed}; \
             give the corrected file a higher \"revision\" (Danh mục {id} bản sửa {revision} \
             không mới hơn bản {installed} đang dùng)"
        ),
    )
}

/// Compares secrets without an early exit, so timing does not leak a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// An own-records pull looks changes up by index, never scans the log
    /// (the cost of an empty pull must not grow with it; the benchmark
    /// `sync_bench` measures it with 100,000 changes).
    #[test]
    fn own_records_pull_never_scans_the_change_log() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let conn = storage.conn().unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {OWN_RECORDS_PULL}"))
            .unwrap()
            .query_map(params!["U1", 0, "D1", 100], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().all(|step| !step.starts_with("SCAN")),
            "{plan:#?}"
        );
        assert!(
            plan.iter().any(|s| s.contains("changes_broadcast"))
                && plan.iter().any(|s| s.contains("changes_subject")),
            "{plan:#?}"
        );
    }

    /// A database of version 2 with a review change keeps its change seqs,
    /// gets kind and subject filled in, and new changes continue after them.
    #[test]
    fn migration_3_keeps_the_change_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cdht.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(
                "PRAGMA user_version = 2;
                 INSERT INTO units VALUES ('U1', 'Unit', 'branch', NULL, NULL, 'K', 'x');
                 INSERT INTO devices (id, unit, token_hash, enrolled_at)
                    VALUES ('0190d3c2-7a9b-7cde-8f01-23456789abce', 'U1', 'h', 'x');
                 INSERT INTO persons (id, unit, device_id, version, hash, full_name, updated_at)
                    VALUES ('P1', 'U1', '0190d3c2-7a9b-7cde-8f01-23456789abce', 1, 'h', 'A', 'x');
                 INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp,
                    answers, version, hash, state, total, passed, threshold, updated_at)
                    VALUES ('0190d3c2-7a9b-7cde-8f01-23456789abcd', 'U1',
                    '0190d3c2-7a9b-7cde-8f01-23456789abce', 'P1', 2025, 'c', 'g', '[]', 1, 'h',
                    'approved', 80, 1, 80, 'x');
                 INSERT INTO changes (seq, unit, at, body) VALUES (41, 'U1', 'x',
                    '{\"kind\":\"review\",\"assessment\":\"0190d3c2-7a9b-7cde-8f01-23456789abcd\",\"state\":\"approved\"}');",
            )
            .unwrap();
        }
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let conn = storage.conn().unwrap();
        let (seq, kind, subject): (u64, String, Option<String>) = conn
            .query_row("SELECT seq, kind, subject FROM changes", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(
            (seq, kind.as_str(), subject.as_deref()),
            (41, "review", Some("P1"))
        );
        let people: i64 = conn
            .query_row("SELECT COUNT(*) FROM device_people", [], |r| r.get(0))
            .unwrap();
        assert_eq!(people, 1);
        drop(conn);
        let device = DeviceRef {
            device_id: "0190d3c2-7a9b-7cde-8f01-23456789abce".parse().unwrap(),
            unit: UnitCode::new("U1"),
            scope: DeviceScope::OwnRecords,
        };
        // The device that pushed P1 still pulls its review after the migration.
        let page = storage.pull(&device, 0, 10).unwrap();
        assert_eq!(page.cursor, 41);
        storage
            .import_units(
                &[],
                &[UnitUpdate {
                    code: UnitCode::new("U1"),
                    name: "Unit 1".into(),
                    kind: "branch".into(),
                    parent: None,
                    area: Some(AreaType::Difficult),
                }],
            )
            .unwrap();
        let page = storage.pull(&device, 41, 10).unwrap();
        assert_eq!(page.changes.len(), 1);
        assert!(page.cursor > 41, "new changes continue after the old ones");
    }
}
