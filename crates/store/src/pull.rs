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

use crate::error::{Result, StoreError};
use crate::fold::{clean_display_name, fold_name};
use crate::model::{AssessmentStatus, UnixMs};
use crate::rows::assessments::{answer_columns, load_answers, upsert_answer};
use crate::rows::removal::{any_assessments, remove_assessment, remove_person};
use crate::sql::{check_code, is_sha256_hex};
use cdht_core::catalog::Catalog;
use cdht_core::ids::UnitCode;
use cdht_core::sync::merge::{person_removable, plan_pull, HeldRecord, PullFacts, PullOp, Replace};
use cdht_core::sync::{
    AssessmentRecord, Deletable, DeviceState, EvidenceRecord, PersonRecord, RecordBody,
    RecordEnvelope, Tombstone,
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

/// The facts the planner decides a pulled record on
/// ([`cdht_core::sync::merge::plan_pull`]): the local copy of the record
/// of `kind` and `id`, its outbox rows, and whether its parent is held.
fn pull_facts(conn: &Connection, kind: &str, id: &str, parent_held: bool) -> Result<PullFacts> {
    let held: Option<(i64, bool)> = match kind {
        "person" => conn
            .query_row(
                "SELECT sync_version, revision <> synced_revision FROM people WHERE person_id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?,
        "assessment" => conn
            .query_row(
                "SELECT sync_version, revision <> synced_revision
                 FROM assessments WHERE assessment_id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?,
        _ => conn
            .query_row(
                "SELECT 1, 0 FROM evidence WHERE evidence_id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?,
    };
    let Some((sync_version, edited_since_sync)) = held else {
        return Ok(PullFacts {
            held: None,
            parent_held,
        });
    };
    let sync_version = u32::try_from(sync_version)
        .map_err(|_| StoreError::Corrupt(format!("{kind} {id} has version {sync_version}")))?;
    // A rejected row does not count as unacknowledged: its person re-edits
    // on top of the winner.
    let unacked_push = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox
             WHERE record_kind = ?1 AND record_id = ?2 AND state IN ('pending', 'sent'))",
        (kind, id),
        |row| row.get(0),
    )?;
    let unsettled_refusals = conn
        .prepare(
            "SELECT version FROM outbox
             WHERE record_kind = ?1 AND record_id = ?2 AND state = 'rejected'
               AND resolved_by_pull_at_ms IS NULL",
        )?
        .query_map((kind, id), |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<u32>>>()?;
    let answers = if kind == "assessment" {
        let assessment_id = id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("stored assessment id {id}")))?;
        load_answers(conn, assessment_id)?
    } else {
        Answers::default()
    };
    Ok(PullFacts {
        held: Some(HeldRecord {
            sync_version,
            unacked_push,
            unsettled_refusals,
            edited_since_sync,
            answers,
        }),
        parent_held,
    })
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

fn clean_text(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// What applying one `record` change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordOutcome {
    /// Not newer, or naming a person or assessment this device does not have.
    Skipped,
    /// Waiting for this device's own push of the record: the page stops
    /// here, and the next round (which pushes first) pulls it again.
    Deferred,
    Applied,
    /// Applied over answers edited here and not sent (or refused): they were
    /// kept in `replaced_answers` for the person to see.
    KeptLocalAnswers,
}

/// Applies one `record` change inside the caller's savepoint: reads the
/// facts, asks the planner, executes its op. An `Err` of kind conflict or
/// invalid input is a skip for the caller (the savepoint is rolled back, the
/// kept answers with it).
pub(crate) fn apply_record(
    conn: &Connection,
    owner: &Owner<'_>,
    envelope: &RecordEnvelope,
    scorer: &mut Scorer,
    now: UnixMs,
) -> Result<RecordOutcome> {
    let id = envelope.body.id().to_string();
    let kind = envelope.body.kind().as_str();
    let parent_held = match &envelope.body {
        RecordBody::Person(_) | RecordBody::Tombstone(_) => true,
        RecordBody::Assessment(record) => exists(
            conn,
            "SELECT EXISTS (SELECT 1 FROM people WHERE person_id = ?1)",
            &record.person.to_string(),
        )?,
        RecordBody::Evidence(record) => exists(
            conn,
            "SELECT EXISTS (SELECT 1 FROM assessments WHERE assessment_id = ?1)",
            &record.assessment.to_string(),
        )?,
    };
    let facts = pull_facts(conn, kind, &id, parent_held)?;
    let op = plan_pull(&facts, envelope);
    let version = envelope.version;
    match (&envelope.body, op) {
        (_, PullOp::Skip(_)) => Ok(RecordOutcome::Skipped),
        (_, PullOp::Defer) => Ok(RecordOutcome::Deferred),
        (RecordBody::Person(person), PullOp::Insert) => {
            insert_person(conn, owner, version, person, now)
        }
        (RecordBody::Person(person), PullOp::Replace(replace)) => {
            replace_person(conn, owner, version, person, replace, now)
        }
        (RecordBody::Assessment(record), PullOp::Insert) => {
            apply_assessment(conn, owner, version, record, None, scorer, now)
        }
        (RecordBody::Assessment(record), PullOp::Replace(replace)) => {
            let local = facts.held.map(|held| held.answers).unwrap_or_default();
            let kept = replace.keep_local_answers.then_some(&local);
            apply_assessment(conn, owner, version, record, kept, scorer, now)
        }
        (RecordBody::Evidence(record), PullOp::Insert) => insert_evidence(conn, record, now),
        (RecordBody::Evidence(_), PullOp::Replace(_)) => Err(StoreError::Internal(
            "the planner replaced an evidence record".to_owned(),
        )),
        (RecordBody::Tombstone(tombstone), PullOp::Remove) => remove_pulled(conn, tombstone, now),
        (RecordBody::Tombstone(_), _) | (_, PullOp::Remove) => Err(StoreError::Internal(
            "the planner mixed up a tombstone".to_owned(),
        )),
    }
}

/// A pulled tombstone: the record was deleted on the server. An assessment
/// goes with its answers and photos (their files are left to the self-check,
/// which removes files no row names); a person once none of their
/// assessments is left here.
fn remove_pulled(conn: &Connection, tombstone: &Tombstone, now: UnixMs) -> Result<RecordOutcome> {
    let id = tombstone.id.to_string();
    match tombstone.record {
        Deletable::Assessment => {
            remove_assessment(conn, &id, now)?;
        }
        Deletable::Person => {
            if !person_removable(any_assessments(conn, &id)?) {
                return Ok(RecordOutcome::Skipped);
            }
            remove_person(conn, &id, now)?;
        }
    }
    Ok(RecordOutcome::Applied)
}

fn exists(conn: &Connection, sql: &str, id: &str) -> Result<bool> {
    Ok(conn.query_row(sql, [id], |row| row.get(0))?)
}

/// A pulled person's fields as stored.
struct PersonFields {
    full_name: String,
    name_folded: String,
    birth_year: Option<i32>,
    address: Option<String>,
    phone: Option<String>,
    household: Option<String>,
}

fn person_fields(person: &PersonRecord) -> Result<PersonFields> {
    let full_name = clean_display_name(&person.full_name);
    if full_name.is_empty() {
        return Err(StoreError::invalid("a pulled person has no name"));
    }
    Ok(PersonFields {
        name_folded: fold_name(&full_name),
        full_name,
        birth_year: person
            .birth_year
            .map(i32::from)
            .filter(|year| (1900..=2200).contains(year)),
        address: clean_text(person.address.as_deref()),
        phone: clean_text(person.phone.as_deref()),
        // Sent only to clients asking for it, and only when the server
        // holds one.
        household: clean_text(person.household.as_deref()),
    })
}

fn insert_person(
    conn: &Connection,
    owner: &Owner<'_>,
    version: u32,
    person: &PersonRecord,
    now: UnixMs,
) -> Result<RecordOutcome> {
    let f = person_fields(person)?;
    conn.execute(
        "INSERT INTO people (person_id, unit_code, is_self, full_name, name_folded,
             birth_year, household_address, phone, server_has_cccd, server_unit_code,
             revision, sync_version, synced_revision, created_at_ms, updated_at_ms,
             household_label)
         VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, 1, ?11, ?11, ?12)",
        rusqlite::params![
            person.id.to_string(),
            owner.joined.as_str(),
            f.full_name,
            f.name_folded,
            f.birth_year,
            f.address,
            f.phone,
            person.keep_cccd,
            owner.server_unit.as_str(),
            version,
            now,
            f.household,
        ],
    )?;
    Ok(RecordOutcome::Applied)
}

/// The whole profile is replaced (last writer by version). Local-only
/// fields (own profile, gender…) stay; the CCCD and the household label as
/// the planner says.
fn replace_person(
    conn: &Connection,
    owner: &Owner<'_>,
    version: u32,
    person: &PersonRecord,
    replace: Replace,
    now: UnixMs,
) -> Result<RecordOutcome> {
    let f = person_fields(person)?;
    let id = person.id.to_string();
    let keep_cccd = !replace.erase_local_cccd;
    let household = if replace.keep_household_label {
        None
    } else {
        f.household
    };
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
            f.full_name,
            f.name_folded,
            f.birth_year,
            f.address,
            f.phone,
            keep_cccd,
            owner.server_unit.as_str(),
            version,
            now,
            household,
        ],
    )?;
    settle_refusals(conn, "person", &id, now)?;
    Ok(RecordOutcome::Applied)
}

/// Inserts (`kept` is `None` and nothing is held) or replaces a pulled
/// assessment; `kept`: the local answers to keep first (`replaced_answers`).
fn apply_assessment(
    conn: &Connection,
    owner: &Owner<'_>,
    version: u32,
    record: &AssessmentRecord,
    kept: Option<&Answers>,
    scorer: &mut Scorer,
    now: UnixMs,
) -> Result<RecordOutcome> {
    let id = record.id.to_string();
    check_code(record.catalog.as_str(), "catalog id")?;
    check_code(record.group.as_str(), "group id")?;
    if !(2000..=2200).contains(&record.year) {
        return Err(StoreError::invalid(format!(
            "year {} is out of range",
            record.year
        )));
    }
    let score = scorer.score(conn, record, owner.area)?;
    let held = exists(
        conn,
        "SELECT EXISTS (SELECT 1 FROM assessments WHERE assessment_id = ?1)",
        &id,
    )?;
    let mut applied = RecordOutcome::Applied;
    if held {
        if let Some(local) = kept {
            // The rule stays "the first to reach the server wins"; this only
            // keeps them for the person to see (and use again).
            conn.execute(
                "INSERT INTO replaced_answers (assessment_id, replaced_at_ms, by_version,
                     answers_json)
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![id, now, version, serde_json::to_string(local)?],
            )?;
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
    } else {
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

/// A pulled evidence record, its photo left on the server until opened.
fn insert_evidence(
    conn: &Connection,
    record: &EvidenceRecord,
    now: UnixMs,
) -> Result<RecordOutcome> {
    let id = record.id.to_string();
    let assessment = record.assessment.to_string();
    let status: AssessmentStatus = conn.query_row(
        "SELECT status FROM assessments WHERE assessment_id = ?1",
        [&assessment],
        |row| row.get(0),
    )?;
    check_code(record.indicator.as_str(), "indicator id")?;
    if !is_sha256_hex(&record.sha256) || record.size == 0 {
        return Err(StoreError::invalid(format!(
            "pulled evidence {id} names no valid photo"
        )));
    }
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
    Ok(RecordOutcome::Applied)
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
