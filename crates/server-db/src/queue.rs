//! The review queue's types: a subtree's assessments of a year in one state,
//! newest first, a page at a time (`GET /api/v1/units/{code}/review-queue`).

use serde::Serialize;
use utoipa::ToSchema;

/// What the queue is narrowed to (the unit's subtree is always).
#[derive(Debug, Clone)]
pub struct QueueFilter {
    pub year: u16,
    /// A review state's name (`submitted` by default).
    pub state: String,
    pub group: Option<String>,
    pub passed: Option<bool>,
    /// Only assessments with (true) or without (false) a likely duplicate.
    pub duplicate: Option<bool>,
    /// After this (updated_at, id): the `next` of the page before.
    pub after: Option<(String, String)>,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueItem {
    pub id: String,
    pub unit: String,
    pub person: String,
    pub person_name: String,
    pub catalog: String,
    pub group: String,
    pub state: String,
    /// The server's score.
    pub total: u32,
    pub passed: bool,
    pub threshold: u32,
    /// When the assessment last changed (pushed or reviewed).
    pub updated_at: String,
    /// Another assessment of the same person (keyed CCCD) in the same year exists.
    pub duplicate: bool,
}

/// One page, newest first; ask again with `cursor = next` while set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    pub next: Option<String>,
}

/// A cursor as sent: `updated_at` and id, joined by `|`.
#[must_use]
pub fn cursor(updated_at: &str, id: &str) -> String {
    format!("{updated_at}|{id}")
}

/// [`cursor`] read back.
#[must_use]
pub fn parse_cursor(text: &str) -> Option<(String, String)> {
    let (at, id) = text.split_once('|')?;
    (!at.is_empty() && id.len() == 36 && at.len() <= 40).then(|| (at.to_owned(), id.to_owned()))
}
