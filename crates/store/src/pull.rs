//! Applying pulled `record` and `catalog` changes (docs/sync-protocol.md,
//! "Pull" and "Editing a pulled record").
//!
//! A pulled record is inserted when unknown. A known one is replaced only by a
//! higher version (or the same version when the server refused this device's
//! push of it: the other device's edit won), and only when this device has no
//! unacknowledged edit of it (its own push goes first and the server's answer
//! decides). Either way the
//! record ends with `sync_version` = the pulled version and nothing queued, so
//! a later local edit pushes version + 1.
//!
//! The first edit to reach the server wins, but a person's answers are not
//! lost silently: when a pulled version replaces answers edited here and not
//! sent (`revision <> synced_revision`), or whose push was refused, they are
//! kept in `replaced_answers` first ([`crate::Store::replaced_answers`]).

use crate::assessments::{answer_columns, upsert_answer};
use crate::error::{Result, StoreError};
use crate::fold::{clean_display_name, fold_name};
use crate::model::{AssessmentStatus, UnixMs};
use crate::sql::{check_code, is_sha256_hex};
use cdht_core::catalog::Catalog;
use cdht_core::ids::UnitCode;
use cdht_core::sync::{
    AssessmentRecord, DeviceState, EvidenceRecord, PersonRecord, RecordBody, RecordEnvelope,
};
use cdht_core::{Answers, AreaType, AssessmentInput, Completeness};
use rusqlite::{Connection, OptionalExtension};

/// The owning unit and area type a `record` change came with.
pub(crate) struct Owner<'a> {
    /// The unit this device joined and pulls for: where the record is listed.
    pub joined: &'a UnitCode,
    /// The unit that owns the record on the server (may be a child unit).
    pub server_unit: &'a UnitCode,
    pub area: AreaType,
}

/// Catalogs to score pulled assessments with, loaded once per page.
pub(crate) struct Scorer {
    catalogs: Option<Vec<Catalog>>,
}

impl Scorer {
    pub(crate) const fn new() -> Self {
        Self { catalogs: None }
    }

    /// The cached score of a pulled assessment: the core's score with the
    /// embedded catalogs and the pulled ones. `None` when it cannot be scored
    /// (unknown catalog): the app scores it when opened.
    fn score(
        &mut self,
        conn: &Connection,
        record: &AssessmentRecord,
        area: AreaType,
    ) -> Result<Option<(i64, bool)>> {
        if self.catalogs.is_none() {
            let embedded = cdht_core::embedded_catalogs().unwrap_or(&[]);
            let pulled = load_catalogs(conn)?;
            self.catalogs = Some(cdht_core::merge_catalogs(embedded, &pulled));
        }
        let catalogs = self.catalogs.as_deref().unwrap_or(&[]);
        let input = AssessmentInput {
            catalog: record.catalog.clone(),
            group: record.group.clone(),
            area,
            answers: record.answers.clone(),
        };
        let completeness = match record.state {
            DeviceState::Draft => Completeness::Draft,
            DeviceState::Submitted => Completeness::Complete,
        };
        Ok(cdht_core::score_with(catalogs, &input, completeness)
            .ok()
            .map(|s| (i64::from(s.total), s.passed)))
    }

    /// A catalog arrived in this page: score with it from now on.
    fn forget(&mut self) {
        self.catalogs = None;
    }
}

/// Whether this device has an edit of the record the server has not answered.
/// A rejected row does not count: its person re-edits on top of the winner.
fn unacked(conn: &Connection, kind: &str, id: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox
             WHERE record_kind = ?1 AND record_id = ?2 AND state IN ('pending', 'sent'))",
        (kind, id),
        |row| row.get(0),
    )?)
}

/// Whether the server refused this device's push of `version` (e.g.
/// `version_conflict`: another device's edit of the same version won) and
/// the winner was not pulled yet. The server then holds somebody else's
/// record under that version number: a pulled record of that version is the
/// winner to take.
fn refused_here(conn: &Connection, kind: &str, id: &str, version: i64) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox
             WHERE record_kind = ?1 AND record_id = ?2 AND version = ?3 AND state = 'rejected'
               AND resolved_by_pull_at_ms IS NULL)",
        rusqlite::params![kind, id, version],
        |row| row.get(0),
    )?)
}

/// The winner of a refused version was taken: that refusal is settled.
fn settle_refusals(conn: &Connection, kind: &str, id: &str, now: UnixMs) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET resolved_by_pull_at_ms = ?3
         WHERE record_kind = ?1 AND record_id = ?2 AND state = 'rejected'
           AND resolved_by_pull_at_ms IS NULL",
        rusqlite::params![kind, id, now],
    )?;
    Ok(())
}

/// Whether a pulled `version` is news for a record this device holds at
/// `local` (its `sync_version`).
fn is_newer(conn: &Connection, kind: &str, id: &str, version: u32, local: i64) -> Result<bool> {
    let version = i64::from(version);
    Ok(version > local || (version == local && refused_here(conn, kind, id, local)?))
}

fn clean_text(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// What applying one `record` change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordOutcome {
    /// Not newer, waiting for this device's own push, or naming a person or
    /// assessment this device does not have.
    Skipped,
    Applied,
    /// Applied over answers edited here and not sent (or refused): they were
    /// kept in `replaced_answers` for the person to see.
    KeptLocalAnswers,
}

impl From<bool> for RecordOutcome {
    fn from(applied: bool) -> Self {
        if applied {
            Self::Applied
        } else {
            Self::Skipped
        }
    }
}

/// Applies one `record` change inside the caller's savepoint. An `Err` of
/// kind conflict or invalid input is a skip for the caller (the savepoint is
/// rolled back, the kept answers with it).
pub(crate) fn apply_record(
    conn: &Connection,
    owner: &Owner<'_>,
    envelope: &RecordEnvelope,
    scorer: &mut Scorer,
    now: UnixMs,
) -> Result<RecordOutcome> {
    let version = envelope.version;
    if version == 0 {
        return Ok(RecordOutcome::Skipped);
    }
    match &envelope.body {
        RecordBody::Person(person) => {
            apply_person(conn, owner, version, person, now).map(Into::into)
        }
        RecordBody::Assessment(assessment) => {
            apply_assessment(conn, owner, version, assessment, scorer, now)
        }
        RecordBody::Evidence(evidence) => apply_evidence(conn, evidence, now).map(Into::into),
    }
}

/// Before a pulled record replaces the local copy: keeps the local answers
/// when the person edited them here and they never reached the server (not
/// queued since, or refused), and they differ from the pulled ones. The rule
/// stays "the first to reach the server wins"; this only keeps them for the
/// person to see (and use again). Returns whether a row was kept.
fn keep_local_answers(
    conn: &Connection,
    id: &str,
    version: u32,
    pulled: &Answers,
    now: UnixMs,
) -> Result<bool> {
    let (edited, refused): (bool, bool) = conn.query_row(
        "SELECT revision <> synced_revision,
             EXISTS (SELECT 1 FROM outbox
                 WHERE record_kind = 'assessment' AND record_id = ?1 AND state = 'rejected'
                   AND resolved_by_pull_at_ms IS NULL)
         FROM assessments WHERE assessment_id = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if !edited && !refused {
        return Ok(false);
    }
    let assessment_id = id
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("stored assessment id {id}")))?;
    let local = crate::assessments::load_answers(conn, assessment_id)?;
    let same = local.0.len() == pulled.0.len()
        && local
            .0
            .iter()
            .all(|(i, a)| pulled.get(i.as_str()) == Some(a));
    if local.0.is_empty() || same {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO replaced_answers (assessment_id, replaced_at_ms, by_version, answers_json)
         VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![id, now, version, serde_json::to_string(&local)?],
    )?;
    Ok(true)
}

fn apply_person(
    conn: &Connection,
    owner: &Owner<'_>,
    version: u32,
    person: &PersonRecord,
    now: UnixMs,
) -> Result<bool> {
    let id = person.id.to_string();
    let full_name = clean_display_name(&person.full_name);
    if full_name.is_empty() {
        return Err(StoreError::invalid("a pulled person has no name"));
    }
    let name_folded = fold_name(&full_name);
    let birth_year = person
        .birth_year
        .map(i32::from)
        .filter(|year| (1900..=2200).contains(year));
    let address = clean_text(person.address.as_deref());
    let phone = clean_text(person.phone.as_deref());
    // Sent only to clients asking for it, and only when the server holds
    // one: an absent label keeps the local one.
    let household = clean_text(person.household.as_deref());
    let local: Option<i64> = conn
        .query_row(
            "SELECT sync_version FROM people WHERE person_id = ?1",
            [&id],
            |row| row.get(0),
        )
        .optional()?;
    match local {
        None => {
            conn.execute(
                "INSERT INTO people (person_id, unit_code, is_self, full_name, name_folded,
                     birth_year, household_address, phone, server_has_cccd, server_unit_code,
                     revision, sync_version, synced_revision, created_at_ms, updated_at_ms,
                     household_label)
                 VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, 1, ?11, ?11, ?12)",
                rusqlite::params![
                    id,
                    owner.joined.as_str(),
                    full_name,
                    name_folded,
                    birth_year,
                    address,
                    phone,
                    person.keep_cccd,
                    owner.server_unit.as_str(),
                    version,
                    now,
                    household,
                ],
            )?;
            Ok(true)
        }
        Some(local) if !is_newer(conn, "person", &id, version, local)? => Ok(false),
        Some(_) if unacked(conn, "person", &id)? => Ok(false),
        Some(_) => {
            // The whole profile is replaced (last writer by version). Without
            // `keep_cccd` the server holds no number any more (consent was
            // withdrawn on another device): the local one goes too. Local-only
            // fields (own profile, gender…) stay, and so does the household
            // label when the record carries none.
            conn.execute(
                "UPDATE people SET full_name = ?2, name_folded = ?3, birth_year = ?4,
                     household_address = ?5, phone = ?6, server_has_cccd = ?7,
                     server_unit_code = ?8,
                     cccd = CASE WHEN ?7 THEN cccd END,
                     cccd_masked = CASE WHEN ?7 THEN cccd_masked END,
                     cccd_consent = CASE WHEN ?7 THEN cccd_consent ELSE 0 END,
                     cccd_consent_at_ms = CASE WHEN ?7 THEN cccd_consent_at_ms END,
                     revision = revision + 1, synced_revision = revision + 1,
                     sync_version = ?9, updated_at_ms = ?10,
                     household_label = COALESCE(?11, household_label)
                 WHERE person_id = ?1",
                rusqlite::params![
                    id,
                    full_name,
                    name_folded,
                    birth_year,
                    address,
                    phone,
                    person.keep_cccd,
                    owner.server_unit.as_str(),
                    version,
                    now,
                    household,
                ],
            )?;
            settle_refusals(conn, "person", &id, now)?;
            Ok(true)
        }
    }
}

fn apply_assessment(
    conn: &Connection,
    owner: &Owner<'_>,
    version: u32,
    record: &AssessmentRecord,
    scorer: &mut Scorer,
    now: UnixMs,
) -> Result<RecordOutcome> {
    let id = record.id.to_string();
    let person_known: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM people WHERE person_id = ?1)",
        [record.person.to_string()],
        |row| row.get(0),
    )?;
    if !person_known {
        return Ok(RecordOutcome::Skipped);
    }
    check_code(record.catalog.as_str(), "catalog id")?;
    check_code(record.group.as_str(), "group id")?;
    if !(2000..=2200).contains(&record.year) {
        return Err(StoreError::invalid(format!(
            "year {} is out of range",
            record.year
        )));
    }
    let score = scorer.score(conn, record, owner.area)?;
    let local: Option<i64> = conn
        .query_row(
            "SELECT sync_version FROM assessments WHERE assessment_id = ?1",
            [&id],
            |row| row.get(0),
        )
        .optional()?;
    let mut applied = RecordOutcome::Applied;
    match local {
        None => {
            // Inserted as a draft so the answer triggers (migration 2) let the
            // answers in; the pulled state is set last.
            conn.execute(
                "INSERT INTO assessments (assessment_id, person_id, year, catalog_id, group_id,
                     area_type, status, revision, synced_revision, sync_version, total_points,
                     passed, created_at_ms, updated_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', 1, 1, ?7, ?8, ?9, ?10, ?10)",
                rusqlite::params![
                    id,
                    record.person.to_string(),
                    record.year,
                    record.catalog.as_str(),
                    record.group.as_str(),
                    owner.area.as_str(),
                    version,
                    score.map(|s| s.0),
                    score.map(|s| s.1),
                    now,
                ],
            )?;
        }
        Some(local) if !is_newer(conn, "assessment", &id, version, local)? => {
            return Ok(RecordOutcome::Skipped)
        }
        Some(_) if unacked(conn, "assessment", &id)? => return Ok(RecordOutcome::Skipped),
        Some(_) => {
            if keep_local_answers(conn, &id, version, &record.answers, now)? {
                applied = RecordOutcome::KeptLocalAnswers;
            }
            // A higher version is the server's current state (draft or
            // submitted: a device push is accepted only before review), so
            // review fields of an older version go.
            conn.execute(
                "UPDATE assessments SET status = 'draft', person_id = ?2, year = ?3,
                     catalog_id = ?4, group_id = ?5, area_type = ?6, return_reason = NULL,
                     decision_number = NULL, decision_date = NULL, total_points = ?8,
                     passed = ?9, revision = revision + 1, synced_revision = revision + 1,
                     sync_version = ?7, updated_at_ms = ?10
                 WHERE assessment_id = ?1",
                rusqlite::params![
                    id,
                    record.person.to_string(),
                    record.year,
                    record.catalog.as_str(),
                    record.group.as_str(),
                    owner.area.as_str(),
                    version,
                    score.map(|s| s.0),
                    score.map(|s| s.1),
                    now,
                ],
            )?;
            conn.execute("DELETE FROM answers WHERE assessment_id = ?1", [&id])?;
            settle_refusals(conn, "assessment", &id, now)?;
        }
    }
    for (indicator, answer) in &record.answers.0 {
        let columns = answer_columns(indicator, answer)?;
        upsert_answer(conn, &id, indicator, columns, now)?;
    }
    let status = match record.state {
        DeviceState::Draft => AssessmentStatus::Draft,
        DeviceState::Submitted => AssessmentStatus::Submitted,
    };
    conn.execute(
        "UPDATE assessments SET status = ?2,
             submitted_at_ms = CASE WHEN ?2 = 'submitted' THEN COALESCE(submitted_at_ms, ?3) END
         WHERE assessment_id = ?1",
        rusqlite::params![id, status, now],
    )?;
    Ok(applied)
}

fn apply_evidence(conn: &Connection, record: &EvidenceRecord, now: UnixMs) -> Result<bool> {
    let id = record.id.to_string();
    let assessment = record.assessment.to_string();
    let status: Option<AssessmentStatus> = conn
        .query_row(
            "SELECT status FROM assessments WHERE assessment_id = ?1",
            [&assessment],
            |row| row.get(0),
        )
        .optional()?;
    let Some(status) = status else {
        return Ok(false);
    };
    let known: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM evidence WHERE evidence_id = ?1)",
        [&id],
        |row| row.get(0),
    )?;
    if known {
        // A photo never changes: evidence records have one version.
        return Ok(false);
    }
    check_code(record.indicator.as_str(), "indicator id")?;
    if !is_sha256_hex(&record.sha256) || record.size == 0 {
        return Err(StoreError::invalid(format!(
            "pulled evidence {id} names no valid photo"
        )));
    }
    // The photo stays on the server until somebody opens it.
    conn.execute(
        "INSERT INTO evidence_files (sha256, mime, byte_size, on_device, created_at_ms)
         VALUES (?1, ?2, ?3, 0, ?4)
         ON CONFLICT (sha256) DO NOTHING",
        rusqlite::params![record.sha256, record.content_type, record.size, now],
    )?;
    // The evidence triggers (migration 2) lock a reviewed assessment; the
    // server's record is not a local edit, so the state is lifted around it.
    let locked = !status.is_editable();
    if locked {
        conn.execute(
            "UPDATE assessments SET status = 'draft' WHERE assessment_id = ?1",
            [&assessment],
        )?;
    }
    conn.execute(
        "INSERT INTO evidence (evidence_id, assessment_id, indicator_id, sha256, from_server,
             created_at_ms)
         VALUES (?1, ?2, ?3, ?4, 1, ?5)",
        rusqlite::params![
            id,
            assessment,
            record.indicator.as_str(),
            record.sha256,
            now
        ],
    )?;
    if locked {
        conn.execute(
            "UPDATE assessments SET status = ?2 WHERE assessment_id = ?1",
            rusqlite::params![assessment, status],
        )?;
    }
    Ok(true)
}

/// Keeps a catalog if it validates and its revision is higher than the one
/// held. `Ok(false)`: not newer. An invalid catalog is `InvalidInput`.
pub(crate) fn save_catalog(
    conn: &Connection,
    catalog: &Catalog,
    scorer: &mut Scorer,
    now: UnixMs,
) -> Result<bool> {
    catalog
        .validate()
        .map_err(|err| StoreError::invalid(format!("catalog {}: {err}", catalog.id)))?;
    let json = serde_json::to_string(catalog)?;
    let changed = conn.execute(
        "INSERT INTO catalogs (catalog_id, revision, catalog_json, received_at_ms)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (catalog_id) DO UPDATE SET
             revision = excluded.revision, catalog_json = excluded.catalog_json,
             received_at_ms = excluded.received_at_ms
         WHERE excluded.revision > catalogs.revision",
        rusqlite::params![catalog.id.as_str(), catalog.revision, json, now],
    )?;
    if changed > 0 {
        scorer.forget();
    }
    Ok(changed > 0)
}

pub(crate) fn load_catalogs(conn: &Connection) -> Result<Vec<Catalog>> {
    let mut stmt = conn.prepare("SELECT catalog_json FROM catalogs ORDER BY catalog_id")?;
    let texts = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    texts
        .iter()
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|err| StoreError::Corrupt(format!("stored catalog: {err}")))
        })
        .collect()
}
