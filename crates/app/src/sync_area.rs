//! The sync area ("Đồng bộ"): what waits to be sent, named by person and
//! year, what the server refused with its reason, and the photos to take again.

use super::*;

/// What waits to be sent: the "Đồng bộ / Sync" area.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncStatus {
    /// Records (submitted assessments, people) not yet acknowledged by the server.
    pub waiting_records: usize,
    /// Photos not yet fully uploaded.
    pub waiting_photos: usize,
    /// Records the server refused, with its reason: a person must fix them.
    pub rejected: Vec<RejectedRecord>,
    /// The first waiting records, oldest first, named for people to recognise.
    pub waiting: Vec<WaitingRecord>,
    /// Photos the server refused whole: the person must take them again.
    pub refused_photos: Vec<RefusedPhoto>,
}

/// A photo the server refused (`invalid_evidence`, `hash_mismatch`): listed
/// with its reason and the next step, "Chụp lại ảnh này".
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RefusedPhoto {
    pub evidence_id: EvidenceId,
    pub assessment_id: AssessmentId,
    pub person_id: PersonId,
    pub person_name: Option<String>,
    pub year: i32,
    pub indicator_id: IndicatorId,
    pub code: String,
    /// The server's sentence (Vietnamese).
    pub reason: String,
}

/// One record waiting in the outbox, as the sync area lists it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct WaitingRecord {
    /// `assessment` or `person`.
    pub record_kind: String,
    pub record_id: String,
    /// Whose record it is.
    pub person_name: Option<String>,
    /// The assessment's year (assessments only).
    pub year: Option<i32>,
    pub queued_at_ms: i64,
    pub attempts: i64,
    /// Why the last attempt failed (network, server busy), if one did.
    pub last_error: Option<String>,
}

/// A record the server refused ("Cần sửa"): named like a waiting record, with
/// the server's stable `code` (the UI words known codes in its own language)
/// and its Vietnamese `reason` (shown for codes the UI does not know).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RejectedRecord {
    pub record_kind: String,
    pub record_id: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    /// Whose record it is, to open it and fix it.
    pub person_id: Option<PersonId>,
    pub person_name: Option<String>,
    /// The assessment's year (assessments and photos).
    pub year: Option<i32>,
}

impl App {
    pub fn sync_status(&self) -> AppResult<SyncStatus> {
        let waiting_records = self.store.outbox_count(OutboxState::Pending)?
            + self.store.outbox_count(OutboxState::Sent)?;
        let rejected = self
            .store
            .open_refusals(100)?
            .into_iter()
            .map(|e| {
                let owner = self.record_owner(e.record_kind, &e.record_id);
                RejectedRecord {
                    record_kind: e.record_kind.as_str().to_owned(),
                    record_id: e.record_id,
                    code: e.reject_code,
                    reason: e.reject_reason,
                    person_id: owner.person_id,
                    person_name: owner.person_name,
                    year: owner.year,
                }
            })
            .collect();
        let waiting = self
            .store
            .outbox_pending(WAITING_LISTED)?
            .into_iter()
            .map(|e| self.waiting_record(e))
            .collect();
        let refused_photos = self
            .store
            .parked_uploads()?
            .into_iter()
            .map(|p| RefusedPhoto {
                person_name: self.store.person(p.person_id).ok().map(|x| x.full_name),
                evidence_id: p.evidence_id,
                assessment_id: p.assessment_id,
                person_id: p.person_id,
                year: p.year,
                indicator_id: p.indicator_id,
                code: p.code,
                reason: p.reason,
            })
            .collect();
        Ok(SyncStatus {
            waiting_records: count_usize(waiting_records),
            waiting_photos: count_usize(self.store.pending_upload_count()?),
            rejected,
            waiting,
            refused_photos,
        })
    }
}

/// Whose record an outbox row is: the person, and the year for an
/// assessment or a photo.
#[derive(Debug, Clone, Default)]
struct RecordOwner {
    person_id: Option<PersonId>,
    person_name: Option<String>,
    year: Option<i32>,
}

impl App {
    /// Names are a courtesy: a record whose row cannot be read is still listed.
    fn record_owner(&self, kind: cdht_store::RecordKind, record_id: &str) -> RecordOwner {
        let assessment = match kind {
            cdht_store::RecordKind::Assessment => record_id
                .parse::<AssessmentId>()
                .ok()
                .and_then(|id| self.store.assessment(id).ok()),
            // A photo is named by the person and year of its assessment.
            cdht_store::RecordKind::Evidence => record_id
                .parse::<EvidenceId>()
                .ok()
                .and_then(|id| self.store.evidence(id).ok())
                .and_then(|e| self.store.assessment(e.assessment_id).ok()),
            cdht_store::RecordKind::Person => {
                let person = record_id
                    .parse::<PersonId>()
                    .ok()
                    .and_then(|id| self.store.person(id).ok());
                return RecordOwner {
                    person_id: person.as_ref().map(|p| p.person_id),
                    person_name: person.map(|p| p.full_name),
                    year: None,
                };
            }
        };
        assessment.map_or_else(RecordOwner::default, |a| RecordOwner {
            person_id: Some(a.person_id),
            person_name: self.store.person(a.person_id).ok().map(|p| p.full_name),
            year: Some(a.year),
        })
    }

    fn waiting_record(&self, entry: cdht_store::OutboxEntry) -> WaitingRecord {
        let owner = self.record_owner(entry.record_kind, &entry.record_id);
        WaitingRecord {
            record_kind: entry.record_kind.as_str().to_owned(),
            record_id: entry.record_id,
            person_name: owner.person_name,
            year: owner.year,
            queued_at_ms: entry.created_at_ms,
            attempts: entry.attempts,
            last_error: entry.last_error,
        }
    }
}
