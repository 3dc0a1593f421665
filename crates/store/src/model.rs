//! Records the store reads and writes.

use cdht_core::ids::{
    AssessmentId, CatalogId, EvidenceId, GroupId, IndicatorId, PersonId, UnitCode,
};
use cdht_core::{Answers, AreaType};
use chrono::NaiveDate;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Unix time in milliseconds, UTC: how every instant is stored.
pub type UnixMs = i64;

/// An enum stored as a fixed lowercase word (the same word in JSON).
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            #[must_use]
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                Self::parse(text).ok_or_else(|| {
                    FromSqlError::Other(format!("unknown {} {text:?}", stringify!($name)).into())
                })
            }
        }
    };
}

text_enum!(
    /// Where an assessment is in the yearly cycle.
    AssessmentStatus {
        /// Being filled in on this device.
        Draft => "draft",
        /// Sent (or queued) for the branch officer's check.
        Submitted => "submitted",
        Approved => "approved",
        /// Sent back with a reason; editable again, resubmitted as a new revision.
        Returned => "returned",
        /// Recognised by the commune association (decision number and date).
        Recognised => "recognised",
    }
);

impl AssessmentStatus {
    /// The device is the record's writer only in these states.
    #[must_use]
    pub const fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Returned)
    }
}

text_enum!(
    Gender {
        Female => "female",
        Male => "male",
        Other => "other",
    }
);

text_enum!(
    /// What an outbox row carries.
    RecordKind {
        Person => "person",
        Assessment => "assessment",
        Evidence => "evidence",
    }
);

text_enum!(
    OutboxState {
        /// Waiting to be pushed (again).
        Pending => "pending",
        /// Handed to the network; reset to pending by the start-up self-check.
        Sent => "sent",
        /// The server stored it; only now may the row ever be dropped.
        Acked => "acked",
        /// The server refused it for a reason a person must fix; parked, not retried.
        Rejected => "rejected",
    }
);

/// What the QR code / unit code join gives the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinUnit {
    pub unit_code: UnitCode,
    /// Empty when not known yet: offline, a QR code or a typed code gives only
    /// the unit code; the name arrives with sync. An empty name never replaces
    /// a known one on re-join.
    pub name: String,
    pub server_url: String,
    /// The join answer as received, kept whole for the sync client.
    pub join_payload: serde_json::Value,
    pub area_type: AreaType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Unit {
    pub unit_code: UnitCode,
    /// The unit's name, or its code while [`Unit::name_known`] is false.
    pub name: String,
    /// False until a sync (or a join that knew it) brought the real name.
    pub name_known: bool,
    pub server_url: String,
    pub join_payload: serde_json::Value,
    pub joined_at_ms: UnixMs,
    pub area_type: AreaType,
    pub active: bool,
}

/// How an edit treats the stored CCCD. Keeping is the default so that an edit
/// form never needs the full number back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum CccdUpdate {
    #[default]
    Keep,
    /// Erase the number and the consent (consent withdrawn, or entered by mistake).
    Erase,
    /// Store this number; refused unless the person gave consent.
    Set { number: String, consent_given: bool },
}

/// A person to create (`person_id: None`) or to update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonInput {
    pub person_id: Option<PersonId>,
    pub unit_code: Option<UnitCode>,
    /// The citizen's own profile; at most one per device.
    pub is_self: bool,
    pub full_name: String,
    pub birth_year: Option<i32>,
    pub gender: Option<Gender>,
    pub ethnicity: Option<String>,
    pub target_group: Option<GroupId>,
    pub household_label: Option<String>,
    pub household_address: Option<String>,
    pub cccd: CccdUpdate,
}

/// A stored person. The full CCCD is not here: read it with
/// [`crate::Store::person_cccd`] only where the job needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Person {
    pub person_id: PersonId,
    pub unit_code: Option<UnitCode>,
    pub is_self: bool,
    pub full_name: String,
    pub birth_year: Option<i32>,
    pub gender: Option<Gender>,
    pub ethnicity: Option<String>,
    pub target_group: Option<GroupId>,
    pub household_label: Option<String>,
    pub household_address: Option<String>,
    /// e.g. "••••••••1234"; `None` when no CCCD is stored.
    pub cccd_masked: Option<String>,
    pub cccd_consent_at_ms: Option<UnixMs>,
    /// The server holds a CCCD for this person that this device never saw
    /// (a pulled person): show "CCCD đã có trên máy chủ"; an edit keeps it.
    pub server_has_cccd: bool,
    /// The unit that owns a pulled person on the server (may be a child unit
    /// of the joined one); `None` for people created on this device.
    pub server_unit_code: Option<UnitCode>,
    pub revision: i64,
    pub created_at_ms: UnixMs,
    pub updated_at_ms: UnixMs,
}

/// Core's score, cached for lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScoreSummary {
    pub total_points: i64,
    pub passed: bool,
}

/// An assessment's line in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AssessmentBrief {
    pub assessment_id: AssessmentId,
    pub year: i32,
    pub status: AssessmentStatus,
    pub score: Option<ScoreSummary>,
    pub return_reason: Option<String>,
    pub updated_at_ms: UnixMs,
}

/// A person's line in a list, with one assessment (the year asked for, or the latest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PersonListItem {
    pub person_id: PersonId,
    pub full_name: String,
    pub is_self: bool,
    pub birth_year: Option<i32>,
    pub household_label: Option<String>,
    pub unit_code: Option<UnitCode>,
    pub cccd_masked: Option<String>,
    pub assessment: Option<AssessmentBrief>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Assessment {
    pub assessment_id: AssessmentId,
    pub person_id: PersonId,
    pub year: i32,
    pub catalog_id: CatalogId,
    pub group_id: GroupId,
    pub area_type: AreaType,
    pub status: AssessmentStatus,
    pub return_reason: Option<String>,
    pub decision_number: Option<String>,
    pub decision_date: Option<NaiveDate>,
    pub revision: i64,
    pub score: Option<ScoreSummary>,
    pub created_at_ms: UnixMs,
    pub updated_at_ms: UnixMs,
    pub submitted_at_ms: Option<UnixMs>,
}

/// An assessment with everything the form shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentDetail {
    pub assessment: Assessment,
    /// Sorted by indicator id.
    pub answers: Answers,
    pub evidence: Vec<Evidence>,
}

/// What an autosave reports back, for the "saved" tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Saved {
    pub revision: i64,
    pub updated_at_ms: UnixMs,
}

/// A reviewer's decision, arriving through sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Review {
    Approved,
    Returned {
        reason: String,
    },
    Recognised {
        decision_number: String,
        decision_date: NaiveDate,
    },
}

/// What the camera screen knows about a photo besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceMeta {
    /// Only `image/jpeg` for now: photos are shrunk to JPEG when taken.
    pub mime: String,
    pub width_px: Option<u32>,
    pub height_px: Option<u32>,
    pub taken_at_ms: Option<UnixMs>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Evidence {
    pub evidence_id: EvidenceId,
    pub assessment_id: AssessmentId,
    pub indicator_id: IndicatorId,
    /// Lowercase hex; also the file's name.
    pub sha256: String,
    pub mime: String,
    pub byte_size: u64,
    pub width_px: Option<u32>,
    pub height_px: Option<u32>,
    pub taken_at_ms: Option<UnixMs>,
    pub created_at_ms: UnixMs,
    /// False for a photo of a pulled record that was not fetched yet: there is
    /// no file at [`crate::Store::evidence_path`] until
    /// [`crate::Store::save_fetched_evidence`] writes it.
    pub on_device: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub outbox_id: i64,
    pub record_kind: RecordKind,
    pub record_id: String,
    /// The record's protocol version: 1, then +1 per pushed edit.
    pub version: u32,
    /// The record body's canonical JSON (`cdht_core::sync::RecordBody`), frozen
    /// at enqueue time.
    pub payload_json: String,
    /// SHA-256 (hex) of `payload_json`: with the record id and version it lets
    /// the server tell a replay from a changed payload.
    pub content_sha256: String,
    pub state: OutboxState,
    /// The push batch the row was frozen into, once it was.
    pub batch_id: Option<uuid::Uuid>,
    pub reject_code: Option<String>,
    pub reject_reason: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at_ms: UnixMs,
    pub updated_at_ms: UnixMs,
}

/// A frozen push batch: the same id, sequence number and records on every retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenBatch {
    pub batch_id: uuid::Uuid,
    /// This device's push sequence number.
    pub seq: u64,
    /// In push order.
    pub entries: Vec<OutboxEntry>,
}

/// What applying a push answer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushOutcome {
    /// Accepted, already had, or superseded: nothing more to do.
    pub acked: usize,
    /// Parked with the server's reason for a person to fix.
    pub rejected: usize,
}

/// What deleting a person or an assessment did (docs/sync-protocol.md,
/// "Deletes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum DeleteOutcome {
    /// The server never had it: removed at once.
    Removed,
    /// Hidden from every list; a tombstone of `version` waits to be sent,
    /// and the record goes for good when the server acknowledges it.
    Queued { version: u32 },
}

/// What applying a pull page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullOutcome {
    pub applied: usize,
    /// Changes about records this device does not hold (other devices of the unit).
    pub not_held: usize,
    /// Changes skipped, never blocking the rest: they contradict the local
    /// state, name a person or assessment this device does not have, are not
    /// newer than what it has, wait for its own unacknowledged edit, or are
    /// invalid (a catalog that does not validate).
    pub skipped: usize,
    /// Of `applied`: assessments whose answers edited here and not sent (or
    /// refused) were replaced by another device's newer version. Those answers
    /// are kept ([`crate::Store::replaced_answers`]) for the person to see.
    #[serde(default)]
    pub replaced_local_edits: usize,
    /// The page stopped before a change of a record this device's own push
    /// has not been answered for: `cursor` is just before it, and the next
    /// round (which pushes first) pulls it again. The pull ends for this
    /// round.
    #[serde(default)]
    pub deferred: bool,
    pub cursor: u64,
}

/// Answers a person saved on this device and had not sent, replaced by a
/// pulled newer version from another device (the first to reach the server
/// wins). Photos are not here: they stay with the assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacedAnswers {
    pub replaced_id: i64,
    pub assessment_id: AssessmentId,
    pub replaced_at_ms: UnixMs,
    /// The pulled version that replaced them.
    pub by_version: i64,
    pub answers: Answers,
}

/// How this device talks to the server: kept in the store (migration 4),
/// written by enrolment and officer binding. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCredentials {
    pub server_url: String,
    pub unit_code: UnitCode,
    /// The device id the server knows this device by.
    pub device_id: String,
    /// The device's bearer token (secret).
    pub device_token: String,
    pub scope: cdht_core::sync::DeviceScope,
    /// The officer bound to this device (scope `unit_records`).
    pub officer_username: Option<String>,
    pub updated_at_ms: UnixMs,
}

impl fmt::Debug for SyncCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncCredentials")
            .field("server_url", &self.server_url)
            .field("unit_code", &self.unit_code)
            .field("device_id", &self.device_id)
            .field("scope", &self.scope)
            .field("officer_username", &self.officer_username)
            .finish_non_exhaustive()
    }
}

/// A photo the server refused whole (`422`: `hash_mismatch`,
/// `invalid_evidence`), once per evidence row that uses it: not sent again
/// until the person replaces it. The UI shows "Ảnh bị từ chối: {reason}".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedUpload {
    pub sha256: String,
    pub evidence_id: EvidenceId,
    pub assessment_id: AssessmentId,
    pub person_id: PersonId,
    pub year: i32,
    pub indicator_id: IndicatorId,
    /// The server's code, e.g. `invalid_evidence`.
    pub code: String,
    /// The server's sentence for the person (Vietnamese).
    pub reason: String,
    pub parked_at_ms: UnixMs,
}

/// How far a photo's upload got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceUpload {
    pub sha256: String,
    pub byte_size: u64,
    pub bytes_acked: u64,
    pub completed_at_ms: Option<UnixMs>,
}

/// How thoroughly [`crate::Store::self_check`] looks at photo files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckDepth {
    /// Existence and size: cheap enough for every start.
    Quick,
    /// Also re-hash every file (reads all photos).
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum FileProblem {
    Missing,
    WrongSize { expected: u64, found: u64 },
    HashMismatch,
}

/// An evidence row whose photo file cannot be used: the person must retake it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenEvidence {
    pub evidence_id: EvidenceId,
    pub assessment_id: AssessmentId,
    pub indicator_id: IndicatorId,
    pub sha256: String,
    pub problem: FileProblem,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfCheckReport {
    /// `PRAGMA quick_check` said "ok".
    pub database_ok: bool,
    pub database_messages: Vec<String>,
    /// Rows left in `sent` by a crash or kill, now `pending` again.
    pub outbox_reset_to_pending: usize,
    pub broken_evidence: Vec<BrokenEvidence>,
    /// Half-written temp files and files no row refers to, removed.
    pub stray_files_removed: usize,
}
