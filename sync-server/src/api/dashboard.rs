//! What the dashboard's pages read besides the reports and the queue: who
//! is logged in (`/me`), and one assessment as a reviewer reads it.

use super::require_officer;
use super::review::{parse_assessment, READERS};
use crate::error::{ApiError, ApiPath};
use crate::storage::{AssessmentRecord, LastReview, Subject, UnitRow};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use cdht_core::catalog::Text;
use cdht_core::sync::{ErrorBody, Role};
use cdht_core::{Answers, AssessmentInput, Completeness};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

/// `GET /api/v1/me`: the logged-in officer.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    /// Each role and the root of the subtree it covers.
    pub roles: Vec<MyRole>,
    /// Every unit of those subtrees (roots first, then by code), for pickers.
    pub units: Vec<MyUnit>,
    /// The target groups of the catalogs the server scores with, for filters.
    pub groups: Vec<GroupName>,
}

#[derive(Serialize, ToSchema)]
pub struct GroupName {
    pub catalog: String,
    pub id: String,
    pub name: Text,
}

#[derive(Serialize, ToSchema)]
pub struct MyRole {
    pub role: Role,
    pub unit: String,
    pub unit_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct MyUnit {
    pub code: String,
    pub name: String,
    /// The unit's kind (`province`, `commune`, `branch`, …).
    pub kind: String,
    pub parent: Option<String>,
}

#[utoipa::path(
    get,
    path = "/me",
    tag = "officer",
    summary = "The logged-in officer: name, roles with their units, and the units they cover",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The officer", body = Me),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role`: a device's token", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn me(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Me>, ApiError> {
    let Subject::Officer {
        username, grants, ..
    } = subject
    else {
        return Err(ApiError::forbidden_role());
    };
    let all = state.db(|s| s.units()).await?;
    let by_code: HashMap<&str, &UnitRow> = all.iter().map(|u| (u.code.as_str(), u)).collect();
    let roles = grants
        .iter()
        .map(|g| MyRole {
            role: g.role,
            unit: g.unit.to_string(),
            unit_name: by_code
                .get(g.unit.as_str())
                .map(|u| u.name.clone())
                .unwrap_or_default(),
        })
        .collect();
    let mut children: HashMap<&str, Vec<&UnitRow>> = HashMap::new();
    for u in &all {
        if let Some(parent) = &u.parent {
            children.entry(parent.as_str()).or_default().push(u);
        }
    }
    // Roots first, then each subtree breadth first; a unit under two roots once.
    let mut seen = HashSet::new();
    let mut queue: std::collections::VecDeque<&UnitRow> = grants
        .iter()
        .filter_map(|g| by_code.get(g.unit.as_str()).copied())
        .collect();
    let mut units = Vec::new();
    while let Some(u) = queue.pop_front() {
        if !seen.insert(u.code.as_str()) {
            continue;
        }
        units.push(MyUnit {
            code: u.code.to_string(),
            name: u.name.clone(),
            kind: u.kind.clone(),
            parent: u.parent.as_ref().map(ToString::to_string),
        });
        queue.extend(children.get(u.code.as_str()).into_iter().flatten());
    }
    let groups = state
        .scoring_catalogs()
        .await?
        .iter()
        .flat_map(|c| {
            c.groups.iter().map(|g| GroupName {
                catalog: c.id.to_string(),
                id: g.id.to_string(),
                name: g.name.clone(),
            })
        })
        .collect();
    Ok(Json(Me {
        username,
        roles,
        units,
        groups,
    }))
}

/// `GET /api/v1/assessments/{id}`: what a reviewer needs to decide.
#[derive(Serialize, ToSchema)]
pub struct AssessmentDetail {
    pub id: String,
    pub unit: String,
    pub unit_name: String,
    pub person: String,
    pub person_name: String,
    pub birth_year: Option<u16>,
    /// The household's label officers use (the address the person gave).
    pub address: Option<String>,
    pub year: u16,
    pub catalog: String,
    pub group: String,
    pub group_name: Option<Text>,
    /// `draft`, `submitted`, `returned`, `approved` or `recognised`.
    pub state: String,
    /// The server's score.
    pub total: u32,
    pub max_total: Option<u32>,
    pub passed: bool,
    pub threshold: u32,
    /// Why it fails by the server's score (empty when it passes): each a
    /// code with its params (`{"code": "below_threshold", "total": 70, ...}`),
    /// which the dashboard words.
    #[schema(value_type = Vec<Value>)]
    pub reasons: Vec<cdht_core::Code>,
    pub indicators: Vec<IndicatorDetail>,
    pub return_reason: Option<String>,
    pub decision_no: Option<String>,
    pub decision_date: Option<String>,
    pub updated_at: String,
    /// Who last approved, returned or recognised it, and when.
    pub last_review: Option<LastReview>,
}

/// One indicator: the answer given and its evidence photos.
#[derive(Serialize, ToSchema)]
pub struct IndicatorDetail {
    pub id: String,
    pub title: Text,
    pub points: u32,
    pub max_points: u32,
    /// The level picked, when answered by level.
    pub level: Option<Text>,
    pub answered: bool,
    /// sha256 of each photo: `GET /api/v1/evidence/{sha256}` with the same token.
    pub evidence: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/assessments/{id}",
    tag = "officer",
    summary = "One assessment for review: person, the server's score and reasons, each indicator's answer and photos",
    params(
        ("id" = String, Path, format = Uuid, description = "The assessment's id")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The assessment", body = AssessmentDetail),
        (status = 400, description = "`bad_path`: the id is not a UUID", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` or `out_of_scope` (also for an unknown id)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn assessment_detail(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AssessmentDetail>, ApiError> {
    let id = parse_assessment(&id)?;
    if let Subject::Device(_) = subject {
        return Err(ApiError::forbidden_role());
    }
    // The scope is checked against the stored row's unit; unknown looks the
    // same as out of scope.
    let record = state
        .db(move |s| s.assessment_record(id))
        .await?
        .ok_or_else(ApiError::out_of_scope)?;
    require_officer(&state, &subject, READERS, &record.unit).await?;
    let code = record.unit.clone();
    let unit = state.db(move |s| s.unit(&code)).await?;
    let catalogs = state.scoring_catalogs().await?;
    Ok(Json(detail(record, unit, &catalogs)))
}

fn detail(
    r: AssessmentRecord,
    unit: Option<UnitRow>,
    catalogs: &[cdht_core::Catalog],
) -> AssessmentDetail {
    let mut photos: HashMap<String, Vec<String>> = HashMap::new();
    for (indicator, sha) in r.evidence {
        photos.entry(indicator).or_default().push(sha);
    }
    let catalog = catalogs.iter().find(|c| c.id.as_str() == r.catalog);
    let group = catalog.and_then(|c| c.group(&r.group));
    let answers: Option<Answers> = serde_json::from_str(&r.answers).ok();
    let input = answers.map(|answers| AssessmentInput {
        catalog: r.catalog.as_str().into(),
        group: r.group.as_str().into(),
        area: unit.as_ref().map(|u| u.area).unwrap_or_default(),
        answers,
    });
    let completeness = if r.state == "draft" {
        Completeness::Draft
    } else {
        Completeness::Complete
    };
    let scored = input.and_then(|i| cdht_core::score_with(catalogs, &i, completeness).ok());
    let mut indicators = Vec::new();
    if let (Some(group), Some(scored)) = (group, &scored) {
        for competency in &group.competencies {
            for indicator in &competency.indicators {
                let score = scored.indicators.iter().find(|s| s.id == indicator.id);
                let level = score
                    .and_then(|s| s.level.as_ref())
                    .and_then(|l| indicator.levels.iter().find(|x| &x.id == l))
                    .map(|l| l.label.clone());
                indicators.push(IndicatorDetail {
                    id: indicator.id.to_string(),
                    title: indicator.title.clone(),
                    points: score.map_or(0, |s| s.points),
                    max_points: indicator.max_points,
                    level,
                    answered: score.is_some_and(|s| s.answered),
                    evidence: photos.remove(indicator.id.as_str()).unwrap_or_default(),
                });
            }
        }
    }
    // Photos of indicators the catalog does not name (or an unscorable
    // assessment) are still shown.
    let mut rest: Vec<_> = photos.into_iter().collect();
    rest.sort();
    for (id, evidence) in rest {
        indicators.push(IndicatorDetail {
            title: Text {
                vi: id.clone(),
                en: id.clone(),
            },
            id,
            points: 0,
            max_points: 0,
            level: None,
            answered: false,
            evidence,
        });
    }
    AssessmentDetail {
        id: r.id.to_string(),
        unit_name: unit.map(|u| u.name).unwrap_or_default(),
        unit: r.unit,
        person: r.person,
        person_name: r.person_name,
        birth_year: r.birth_year,
        address: r.address,
        year: r.year,
        catalog: r.catalog,
        group: r.group,
        group_name: group.map(|g| g.name.clone()),
        state: r.state,
        total: r.total,
        max_total: scored.as_ref().map(|s| s.max_total),
        passed: r.passed,
        threshold: r.threshold,
        reasons: scored
            .map(|s| {
                s.reasons
                    .iter()
                    .map(|x| cdht_core::Code::from(&x.kind))
                    .collect()
            })
            .unwrap_or_default(),
        indicators,
        return_reason: r.return_reason,
        decision_no: r.decision_no,
        decision_date: r.decision_date,
        updated_at: r.updated_at,
        last_review: r.last_review,
    }
}
