//! Certificates (their verification tokens) and decisions' recognition lists.

use crate::error::{corrupt, Result};
use crate::review::num;
use crate::{now, PgStorage, SUBTREE};
use cdht_core::ids::AssessmentId;
use cdht_core::Code;
use cdht_server_db::facts::{CertificateFacts, DecisionRow};
use cdht_server_db::{Refusal, StorageError};
use postgres::{GenericClient, Row};

const FACTS: &str = "SELECT a.id, COALESCE(p.full_name, ''), p.birth_year, a.unit, u.name, a.year,
        a.state, COALESCE(a.decision_no, ''), COALESCE(a.decision_date, '')
     FROM assessments a JOIN units u ON u.code = a.unit LEFT JOIN persons p ON p.id = a.person";

fn birth_year(r: &Row, column: usize) -> Option<u16> {
    r.get::<_, Option<i64>>(column)
        .and_then(|y| u16::try_from(y).ok())
}

/// The facts of a row of [`FACTS`], and the assessment's state.
fn facts_row(r: &Row) -> Result<(CertificateFacts, String)> {
    Ok((
        CertificateFacts {
            assessment: r.get(0),
            full_name: r.get(1),
            birth_year: birth_year(r, 2),
            unit_code: r.get(3),
            unit_name: r.get(4),
            year: num(r, 5)?,
            decision_no: r.get(7),
            decision_date: r.get(8),
            token: String::new(),
        },
        r.get(6),
    ))
}

fn token_of(c: &mut impl GenericClient, assessment: &str) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT token FROM certificates WHERE assessment = $1",
        &[&assessment],
    )?
    .map(|r| r.get(0)))
}

/// The certificate of a recognised assessment, its token made (`new_token`)
/// the first time. `None`: no such assessment; `not_recognised` when it is
/// not recognised.
pub(crate) fn certificate(
    db: &PgStorage,
    id: AssessmentId,
    new_token: &str,
) -> Result<Option<CertificateFacts>> {
    let mut conn = db.conn()?;
    let id_text = id.to_string();
    let Some(r) = conn.query_opt(&format!("{FACTS} WHERE a.id = $1"), &[&id_text])? else {
        return Ok(None);
    };
    let (mut facts, state) = facts_row(&r)?;
    if state != "recognised" {
        return Err(StorageError::refused(Refusal::Conflict, Code::NotRecognised).into());
    }
    facts.token = match token_of(&mut *conn, &id_text)? {
        Some(token) => token,
        None => {
            // Two instances making it at once: the second insert waits for
            // the first and does nothing; both then read the first's token.
            conn.execute(
                "INSERT INTO certificates (token, assessment, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&new_token, &id_text, &now()],
            )?;
            token_of(&mut *conn, &id_text)?.ok_or_else(|| corrupt("certificate token"))?
        }
    };
    Ok(Some(facts))
}

/// What a verification token certifies, while its assessment is recognised.
pub(crate) fn verify(db: &PgStorage, token: &str) -> Result<Option<CertificateFacts>> {
    let row = db.conn()?.query_opt(
        &format!(
            "{FACTS} JOIN certificates c ON c.assessment = a.id
             WHERE c.token = $1 AND a.state = 'recognised'"
        ),
        &[&token],
    )?;
    row.map(|r| {
        let (mut facts, _) = facts_row(&r)?;
        facts.token = token.to_owned();
        Ok(facts)
    })
    .transpose()
}

/// The people a decision recognised in the subtree of `unit`, by unit, then name.
pub(crate) fn decision_list(
    db: &PgStorage,
    unit: &str,
    decision_no: &str,
) -> Result<Vec<DecisionRow>> {
    db.conn()?
        .query(
            &format!(
                "{SUBTREE} SELECT COALESCE(p.full_name, ''), p.birth_year, a.unit, u.name, a.grp,
                    a.total, a.year, COALESCE(a.decision_date, '')
                 FROM assessments a JOIN units u ON u.code = a.unit
                 LEFT JOIN persons p ON p.id = a.person
                 WHERE a.state = 'recognised' AND a.decision_no = $2
                   AND a.unit IN (SELECT code FROM sub)
                 ORDER BY a.unit, p.full_name, a.id"
            ),
            &[&unit, &decision_no],
        )?
        .iter()
        .map(|r| {
            Ok(DecisionRow {
                full_name: r.get(0),
                birth_year: birth_year(r, 1),
                unit_code: r.get(2),
                unit_name: r.get(3),
                group: r.get(4),
                total: num(r, 5)?,
                year: num(r, 6)?,
                decision_date: r.get(7),
            })
        })
        .collect()
}
