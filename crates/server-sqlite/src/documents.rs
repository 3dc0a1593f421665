//! Certificates (their verification tokens) and decisions' recognition lists.

use super::{now, write_tx, SqliteStorage, SUBTREE};
use cdht_core::ids::AssessmentId;
use cdht_core::Code;
use cdht_server_db::facts::{CertificateFacts, DecisionRow};
use cdht_server_db::{Refusal, StorageError, StorageResult};
use rusqlite::{params, Connection, OptionalExtension};

const FACTS: &str = "SELECT a.id, COALESCE(p.full_name, ''), p.birth_year, a.unit, u.name, a.year,
        a.state, COALESCE(a.decision_no, ''), COALESCE(a.decision_date, '')
     FROM assessments a JOIN units u ON u.code = a.unit LEFT JOIN persons p ON p.id = a.person";

type FactsRow = (CertificateFacts, String);

fn facts_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FactsRow> {
    Ok((
        CertificateFacts {
            assessment: r.get(0)?,
            full_name: r.get(1)?,
            birth_year: r.get(2)?,
            unit_code: r.get(3)?,
            unit_name: r.get(4)?,
            year: r.get(5)?,
            decision_no: r.get(7)?,
            decision_date: r.get(8)?,
            token: String::new(),
        },
        r.get(6)?,
    ))
}

fn token_of(conn: &Connection, assessment: &str) -> StorageResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT token FROM certificates WHERE assessment = ?1")?
        .query_row([assessment], |r| r.get(0))
        .optional()?)
}

/// The certificate of a recognised assessment, its token made (`new_token`)
/// the first time. `None`: no such assessment; `not_recognised` when it is
/// not recognised.
pub(super) fn certificate(
    db: &SqliteStorage,
    id: AssessmentId,
    new_token: &str,
) -> StorageResult<Option<CertificateFacts>> {
    let mut conn = db.conn()?;
    let id_text = id.to_string();
    let row = conn
        .query_row(&format!("{FACTS} WHERE a.id = ?1"), [&id_text], facts_row)
        .optional()?;
    let Some((mut facts, state)) = row else {
        return Ok(None);
    };
    if state != "recognised" {
        return Err(StorageError::refused(
            Refusal::Conflict,
            Code::NotRecognised,
        ));
    }
    facts.token = match token_of(&conn, &id_text)? {
        Some(token) => token,
        None => {
            let tx = write_tx(&mut conn)?;
            tx.execute(
                "INSERT OR IGNORE INTO certificates (token, assessment, created_at)
                 VALUES (?1, ?2, ?3)",
                params![new_token, id_text, now()],
            )?;
            let token = token_of(&tx, &id_text)?
                .ok_or_else(|| StorageError::Corrupt("certificate token".into()))?;
            tx.commit()?;
            token
        }
    };
    Ok(Some(facts))
}

/// What a verification token certifies, while its assessment is recognised.
pub(super) fn verify(db: &SqliteStorage, token: &str) -> StorageResult<Option<CertificateFacts>> {
    let conn = db.conn()?;
    let row = conn
        .query_row(
            &format!(
                "{FACTS} JOIN certificates c ON c.assessment = a.id
                 WHERE c.token = ?1 AND a.state = 'recognised'"
            ),
            [token],
            facts_row,
        )
        .optional()?;
    Ok(row.map(|(mut facts, _)| {
        facts.token = token.to_owned();
        facts
    }))
}

/// The people a decision recognised in the subtree of `unit`, by unit, then name.
pub(super) fn decision_list(
    db: &SqliteStorage,
    unit: &str,
    decision_no: &str,
) -> StorageResult<Vec<DecisionRow>> {
    let conn = db.conn()?;
    let rows = conn
        .prepare(&format!(
            "{SUBTREE} SELECT COALESCE(p.full_name, ''), p.birth_year, a.unit, u.name, a.grp,
                a.total, a.year, COALESCE(a.decision_date, '')
             FROM assessments a JOIN units u ON u.code = a.unit
             LEFT JOIN persons p ON p.id = a.person
             WHERE a.state = 'recognised' AND a.decision_no = ?2
               AND a.unit IN (SELECT code FROM sub)
             ORDER BY a.unit, p.full_name, a.id"
        ))?
        .query_map(params![unit, decision_no], |r| {
            Ok(DecisionRow {
                full_name: r.get(0)?,
                birth_year: r.get(1)?,
                unit_code: r.get(2)?,
                unit_name: r.get(3)?,
                group: r.get(4)?,
                total: r.get(5)?,
                year: r.get(6)?,
                decision_date: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
