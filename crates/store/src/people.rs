//! People: the citizen's own profile and the people an officer collects.

use crate::cccd::{mask_cccd, normalize_cccd};
use crate::error::{Result, StoreError};
use crate::fold::{clean_display_name, escape_like, fold_name};
use crate::model::{
    AssessmentBrief, CccdUpdate, Person, PersonInput, PersonListItem, ScoreSummary, UnixMs,
};
use crate::rows::removal::deleting;
use crate::sql::{clean_opt, now_ms, parsed, parsed_opt, usize_to_i64};
use crate::store::Store;
use cdht_core::ids::{GroupId, PersonId, UnitCode};
use chrono::Datelike;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, OptionalExtension, Row};

const MAX_NAME_CHARS: usize = 200;
const MAX_TEXT_CHARS: usize = 500;
/// Words of a search query that are matched; more add nothing on a name.
const MAX_SEARCH_WORDS: usize = 6;

const PERSON_COLUMNS: &str = "person_id, unit_code, is_self, full_name, birth_year, gender, \
     ethnicity, target_group, household_label, household_address, cccd_masked, \
     cccd_consent_at_ms, revision, created_at_ms, updated_at_ms, server_has_cccd, \
     server_unit_code";

fn person_from_row(row: &Row<'_>) -> rusqlite::Result<Person> {
    Ok(Person {
        person_id: parsed(row, 0)?,
        unit_code: row.get::<_, Option<String>>(1)?.map(UnitCode::new),
        is_self: row.get(2)?,
        full_name: row.get(3)?,
        birth_year: row.get(4)?,
        gender: row.get(5)?,
        ethnicity: row.get(6)?,
        target_group: row.get::<_, Option<String>>(7)?.map(GroupId::new),
        household_label: row.get(8)?,
        household_address: row.get(9)?,
        cccd_masked: row.get(10)?,
        cccd_consent_at_ms: row.get(11)?,
        revision: row.get(12)?,
        created_at_ms: row.get(13)?,
        updated_at_ms: row.get(14)?,
        server_has_cccd: row.get(15)?,
        server_unit_code: row.get::<_, Option<String>>(16)?.map(UnitCode::new),
    })
}

/// Columns of a list line: the person, then an optional assessment (alias `a`).
const LIST_COLUMNS: &str = "p.person_id, p.full_name, p.is_self, p.birth_year, \
     p.household_label, p.unit_code, p.cccd_masked, a.assessment_id, a.year, a.status, \
     a.total_points, a.passed, a.return_reason, a.updated_at_ms";

fn list_item_from_row(row: &Row<'_>) -> rusqlite::Result<PersonListItem> {
    let assessment = match parsed_opt(row, 7)? {
        None => None,
        Some(assessment_id) => {
            let total: Option<i64> = row.get(10)?;
            let passed: Option<bool> = row.get(11)?;
            Some(AssessmentBrief {
                assessment_id,
                year: row.get(8)?,
                status: row.get(9)?,
                score: total
                    .zip(passed)
                    .map(|(total_points, passed)| ScoreSummary {
                        total_points,
                        passed,
                    }),
                return_reason: row.get(12)?,
                updated_at_ms: row.get(13)?,
            })
        }
    };
    Ok(PersonListItem {
        person_id: parsed(row, 0)?,
        full_name: row.get(1)?,
        is_self: row.get(2)?,
        birth_year: row.get(3)?,
        household_label: row.get(4)?,
        unit_code: row.get::<_, Option<String>>(5)?.map(UnitCode::new),
        cccd_masked: row.get(6)?,
        assessment,
    })
}

/// The CCCD columns an upsert writes: `None` leaves them as stored.
struct CccdColumns {
    number: Option<String>,
    masked: Option<String>,
    consent: bool,
    consent_at_ms: Option<UnixMs>,
}

impl Store {
    /// Creates a person (`input.person_id` `None` or unknown) or replaces an existing
    /// one's details, in one transaction. A CCCD is accepted only with consent.
    pub fn upsert_person(&mut self, input: &PersonInput) -> Result<Person> {
        let full_name = clean_display_name(&input.full_name);
        if full_name.is_empty() {
            return Err(StoreError::invalid("full name is empty"));
        }
        if full_name.chars().count() > MAX_NAME_CHARS {
            return Err(StoreError::invalid(format!(
                "full name is longer than {MAX_NAME_CHARS} characters"
            )));
        }
        let name_folded = fold_name(&full_name);
        if let Some(year) = input.birth_year {
            let this_year = chrono::Utc::now().year();
            if !(1900..=this_year).contains(&year) {
                return Err(StoreError::invalid(format!(
                    "birth year {year} is not between 1900 and {this_year}"
                )));
            }
        }
        let ethnicity = clean_opt(input.ethnicity.as_deref(), "ethnicity", MAX_NAME_CHARS)?;
        let household_label = clean_opt(
            input.household_label.as_deref(),
            "household",
            MAX_NAME_CHARS,
        )?;
        let household_address = clean_opt(
            input.household_address.as_deref(),
            "address",
            MAX_TEXT_CHARS,
        )?;
        let target_group = clean_opt(
            input.target_group.as_ref().map(GroupId::as_str),
            "target group",
            64,
        )?;
        let now = now_ms();

        let tx = self.write_tx()?;
        if let Some(unit) = &input.unit_code {
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM units WHERE unit_code = ?1)",
                [unit.as_str()],
                |row| row.get(0),
            )?;
            if !known {
                return Err(StoreError::not_found("unit", unit));
            }
        }
        let existing: Option<(String, Option<String>, Option<UnixMs>)> = match &input.person_id {
            None => None,
            Some(id) => tx
                .query_row(
                    "SELECT person_id, cccd, cccd_consent_at_ms FROM people WHERE person_id = ?1",
                    [id.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?,
        };
        let person_id = input.person_id.unwrap_or_else(PersonId::new_v7);
        if input.is_self {
            let other_self: Option<String> = tx
                .query_row(
                    "SELECT person_id FROM people WHERE is_self = 1 AND person_id <> ?1",
                    [person_id.to_string()],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(other) = other_self {
                return Err(StoreError::AlreadyExists(format!(
                    "this device already has its own profile ({other})"
                )));
            }
        }

        let cccd = match &input.cccd {
            CccdUpdate::Keep => None,
            CccdUpdate::Erase => Some(CccdColumns {
                number: None,
                masked: None,
                consent: false,
                consent_at_ms: None,
            }),
            CccdUpdate::Set {
                number,
                consent_given,
            } => {
                if !consent_given {
                    return Err(StoreError::invalid(
                        "a CCCD number is stored only with the person's consent",
                    ));
                }
                let number = normalize_cccd(number)?;
                // Re-saving the same number keeps the time consent was first given.
                let consent_at_ms = match &existing {
                    Some((_, Some(stored), Some(at))) if *stored == number => *at,
                    _ => now,
                };
                Some(CccdColumns {
                    masked: Some(mask_cccd(&number)),
                    number: Some(number),
                    consent: true,
                    consent_at_ms: Some(consent_at_ms),
                })
            }
        };

        let id_text = person_id.to_string();
        let unit = input.unit_code.as_ref().map(UnitCode::as_str);
        let gender = input.gender;
        if existing.is_none() {
            let cccd = cccd.unwrap_or(CccdColumns {
                number: None,
                masked: None,
                consent: false,
                consent_at_ms: None,
            });
            tx.execute(
                "INSERT INTO people (person_id, unit_code, is_self, full_name, name_folded,
                     birth_year, gender, ethnicity, target_group, household_label,
                     household_address, cccd, cccd_masked, cccd_consent, cccd_consent_at_ms,
                     revision, created_at_ms, updated_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 1, ?16, ?16)",
                rusqlite::params![
                    id_text,
                    unit,
                    input.is_self,
                    full_name,
                    name_folded,
                    input.birth_year,
                    gender,
                    ethnicity,
                    target_group,
                    household_label,
                    household_address,
                    cccd.number,
                    cccd.masked,
                    cccd.consent,
                    cccd.consent_at_ms,
                    now,
                ],
            )?;
        } else {
            tx.execute(
                "UPDATE people SET unit_code = ?2, is_self = ?3, full_name = ?4, name_folded = ?5,
                     birth_year = ?6, gender = ?7, ethnicity = ?8, target_group = ?9,
                     household_label = ?10, household_address = ?11,
                     revision = revision + 1, updated_at_ms = ?12
                 WHERE person_id = ?1",
                rusqlite::params![
                    id_text,
                    unit,
                    input.is_self,
                    full_name,
                    name_folded,
                    input.birth_year,
                    gender,
                    ethnicity,
                    target_group,
                    household_label,
                    household_address,
                    now,
                ],
            )?;
            if let Some(cccd) = cccd {
                // An explicit erase also withdraws the number the server holds
                // (the next push says `keep_cccd: false`).
                tx.execute(
                    "UPDATE people SET cccd = ?2, cccd_masked = ?3, cccd_consent = ?4,
                         cccd_consent_at_ms = ?5,
                         server_has_cccd = CASE WHEN ?2 IS NULL THEN 0 ELSE server_has_cccd END
                     WHERE person_id = ?1",
                    rusqlite::params![
                        id_text,
                        cccd.number,
                        cccd.masked,
                        cccd.consent,
                        cccd.consent_at_ms
                    ],
                )?;
            }
        }
        let person = tx.query_row(
            &format!("SELECT {PERSON_COLUMNS} FROM people WHERE person_id = ?1"),
            [&id_text],
            person_from_row,
        )?;
        tx.commit()?;
        Ok(person)
    }

    pub fn person(&self, person_id: PersonId) -> Result<Person> {
        self.conn
            .query_row(
                &format!("SELECT {PERSON_COLUMNS} FROM people WHERE person_id = ?1"),
                [person_id.to_string()],
                person_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found("person", person_id))
    }

    /// The citizen's own profile, if this device has one.
    pub fn self_person(&self) -> Result<Option<Person>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {PERSON_COLUMNS} FROM people WHERE is_self = 1"),
                [],
                person_from_row,
            )
            .optional()?)
    }

    /// The full CCCD number (only stored with consent). Read it only where the job
    /// needs it (sending a submission), never for display.
    pub fn person_cccd(&self, person_id: PersonId) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT cccd FROM people WHERE person_id = ?1",
                [person_id.to_string()],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found("person", person_id))
    }

    /// Finds people by name, with or without diacritics: names starting with the
    /// query first ("nguyen van" → "Nguyễn Văn …", served by the name index), then
    /// names where every query word starts a word ("van an" → "Nguyễn Văn An").
    /// Each line carries the person's latest assessment.
    pub fn search_people(&self, query: &str, limit: usize) -> Result<Vec<PersonListItem>> {
        let (sql, params) = search_sql(query, limit);
        let mut stmt = self.conn.prepare(&sql)?;
        let items = stmt
            .query_map(params_from_iter(params), list_item_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(items)
    }

    /// `EXPLAIN QUERY PLAN` of [`Store::search_people`]'s statement, for tests and
    /// for checking the name index is used.
    #[doc(hidden)]
    pub fn explain_search(&self, query: &str) -> Result<Vec<String>> {
        let (sql, params) = search_sql(query, 10);
        let mut stmt = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let lines = stmt
            .query_map(params_from_iter(params), |row| row.get::<_, String>(3))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(lines)
    }

    /// People in name order (the device's own profile first), each with their
    /// assessment of `year` if any. `unit` narrows to one unit.
    pub fn list_people(
        &self,
        year: i32,
        unit: Option<&UnitCode>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<PersonListItem>> {
        self.list_people_ordered(
            year,
            unit,
            limit,
            offset,
            "p.is_self DESC, p.name_folded, p.person_id",
        )
    }

    /// People grouped by household for the officer's list: the device's own
    /// profile first, then households by label (people without one last), each
    /// household's members in name order, with their assessment of `year`.
    /// A page boundary never reorders a household.
    pub fn list_people_by_household(
        &self,
        year: i32,
        unit: Option<&UnitCode>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<PersonListItem>> {
        self.list_people_ordered(
            year,
            unit,
            limit,
            offset,
            "p.is_self DESC,
             NULLIF(trim(p.household_label), '') IS NULL,
             trim(p.household_label) COLLATE NOCASE,
             p.name_folded, p.person_id",
        )
    }

    /// The people list with this year's assessment, in `order_by` (a fixed
    /// ORDER BY clause from this module, never user input).
    fn list_people_ordered(
        &self,
        year: i32,
        unit: Option<&UnitCode>,
        limit: usize,
        offset: usize,
        order_by: &str,
    ) -> Result<Vec<PersonListItem>> {
        let assessment_deleting = deleting("assessment", "a.assessment_id");
        let person_deleting = deleting("person", "p.person_id");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {LIST_COLUMNS} FROM people p
             LEFT JOIN assessments a ON a.person_id = p.person_id AND a.year = ?1
                 AND NOT {assessment_deleting}
             WHERE (?2 IS NULL OR p.unit_code = ?2) AND NOT {person_deleting}
             ORDER BY {order_by}
             LIMIT ?3 OFFSET ?4"
        ))?;
        let items = stmt
            .query_map(
                rusqlite::params![
                    year,
                    unit.map(UnitCode::as_str),
                    usize_to_i64(limit),
                    usize_to_i64(offset)
                ],
                list_item_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(items)
    }
}

/// The search statement and its parameters: `?1` prefix pattern, `?2` limit,
/// `?3…` one word-start pattern per query word.
fn search_sql(query: &str, limit: usize) -> (String, Vec<Value>) {
    let folded = fold_name(query);
    let latest_join = format!(
        "LEFT JOIN assessments a ON a.assessment_id = (
             SELECT assessment_id FROM assessments
             WHERE person_id = p.person_id AND NOT {}
             ORDER BY year DESC LIMIT 1)",
        deleting("assessment", "assessment_id")
    );
    let person_deleting = deleting("person", "p.person_id");
    let mut params = vec![
        Value::Text(format!("{}%", escape_like(&folded))),
        Value::Integer(usize_to_i64(limit)),
    ];
    let mut word_conditions = Vec::new();
    for word in folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .take(MAX_SEARCH_WORDS)
    {
        params.push(Value::Text(format!("% {}%", escape_like(word))));
        word_conditions.push(format!(
            "(' ' || name_folded) LIKE ?{} ESCAPE '\\'",
            params.len()
        ));
    }
    if word_conditions.is_empty() {
        // Nothing to match: the first names in order (still through the index).
        word_conditions.push("0".to_owned());
    }
    let sql = format!(
        "SELECT {LIST_COLUMNS} FROM (
             SELECT person_id, 0 AS rank FROM people WHERE name_folded LIKE ?1 ESCAPE '\\'
             UNION ALL
             SELECT person_id, 1 AS rank FROM people
             WHERE NOT (name_folded LIKE ?1 ESCAPE '\\') AND {}
         ) AS hit
         JOIN people p ON p.person_id = hit.person_id AND NOT {person_deleting}
         {latest_join}
         ORDER BY hit.rank, p.name_folded, p.person_id
         LIMIT ?2",
        word_conditions.join(" AND ")
    );
    (sql, params)
}
