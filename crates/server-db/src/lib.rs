//! What the sync server needs from a database, as a trait every backend
//! implements (`cdht-server-sqlite`, `cdht-server-postgres`), so the handlers
//! never know which one runs. The methods are blocking: the server calls them
//! on tokio's blocking pool.
//!
//! The sync rules themselves (which version wins, what is locked) live in
//! [`rules`], pure, so every backend applies the same ones.

use cdht_core::ids::{AssessmentId, DeviceId, PersonId, UnitCode};
use cdht_core::sync::{
    DeviceScope, EvidenceStatus, PullResponse, RecordEnvelope, RoleGrant, ServerScore, UnitInfo,
};
use cdht_core::{AreaType, Catalog, Code};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// Where the server's "now" comes from: the system clock when serving, a
/// fixed one in tests of expiry.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A time as every backend stores it: RFC 3339 in UTC with milliseconds,
/// so that text order is time order.
#[must_use]
pub fn stored_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
use uuid::Uuid;

/// A backend's connection pool: how many connections, and how long a call
/// waits for a free one before `busy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub size: u32,
    pub wait: Duration,
}

impl PoolSettings {
    /// SQLite serialises writers anyway, and WAL readers run in parallel, so a
    /// few more than the cores keeps both cores busy while one connection
    /// waits on the disk; more would only queue inside SQLite and cost a page
    /// cache (≈2 MB) each. Waiting 15 s for one rides out a crowd's burst.
    pub const DEFAULT: Self = Self {
        size: 8,
        wait: Duration::from_secs(15),
    };
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

mod error;
pub mod facts;
mod officer_views;
pub mod portable;
pub mod queue;
pub mod rules;

pub use error::{Refusal, StorageError, StorageResult};
pub use officer_views::{
    AssessmentRecord, AssessmentSummary, AuditEntry, DuplicateGroup, DuplicateMember,
    DuplicatePage, LastReview, DUPLICATE_MEMBERS_SHOWN,
};

#[derive(Debug, Clone, Serialize)]
pub struct UnitRow {
    pub code: UnitCode,
    pub name: String,
    pub kind: String,
    pub parent: Option<UnitCode>,
    /// The unit's own setting; `None` inherits.
    pub own_area: Option<AreaType>,
    /// The effective area type (own, or the nearest ancestor's, else normal).
    pub area: AreaType,
    #[serde(skip)]
    pub join_key: String,
}

impl UnitRow {
    /// What devices are told about the unit (never the join key).
    #[must_use]
    pub fn info(&self) -> UnitInfo {
        UnitInfo {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            parent: self.parent.clone(),
            area: self.area,
        }
    }
}

/// A new unit.
#[derive(Debug, Clone)]
pub struct NewUnit {
    pub code: UnitCode,
    pub name: String,
    pub kind: String,
    pub parent: Option<UnitCode>,
    pub area: Option<AreaType>,
    pub join_key: String,
}

/// The device asking to enrol.
#[derive(Debug, Clone, Copy)]
pub struct EnrolDevice<'a> {
    pub device_id: DeviceId,
    pub label: Option<&'a str>,
    /// The sha256 of the bearer token sent with the request, if any.
    pub current_token_hash: Option<&'a str>,
}

/// Who a bearer token belongs to.
#[derive(Debug, Clone)]
pub enum Subject {
    Device(DeviceRef),
    Officer {
        id: i64,
        username: String,
        grants: Vec<RoleGrant>,
    },
}

/// An enrolled device as the handlers see it: what it may write and pull
/// depends on its scope (docs/sync-protocol.md, "Who gets what").
#[derive(Debug, Clone)]
pub struct DeviceRef {
    pub device_id: DeviceId,
    pub unit: UnitCode,
    pub scope: DeviceScope,
}

/// Who asks for an evidence photo.
#[derive(Debug, Clone)]
pub enum Reader {
    Device(DeviceRef),
    Officer(Vec<RoleGrant>),
}

/// What a pushed person record does to the keyed CCCD the server holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CccdUpdate {
    /// A CCCD was sent: its keyed hash replaces the one held.
    Set(String),
    /// No CCCD, `keep_cccd: true`: keep the one held (a device that pulled
    /// the person never saw the number).
    Keep,
    /// No CCCD, `keep_cccd: false`: erase it (consent withdrawn).
    Erase,
}

/// A unit whose name, kind, parent or area an import changes.
#[derive(Debug, Clone)]
pub struct UnitUpdate {
    pub code: UnitCode,
    pub name: String,
    pub kind: String,
    pub parent: Option<UnitCode>,
    pub area: Option<AreaType>,
}

/// A record after the handler checked it and scored it, ready to apply.
#[derive(Debug, Clone)]
pub struct PreparedRecord {
    pub envelope: RecordEnvelope,
    pub check: RecordCheck,
}

#[derive(Debug, Clone)]
pub enum RecordCheck {
    /// Refused before storage (bad hash, unscorable, bad CCCD, …).
    Rejected {
        code: Code,
    },
    Person {
        cccd: CccdUpdate,
        /// The record hash as stored: keyed under the server secret, since
        /// the pushed body holds the CCCD (a plain sha256 of it would give
        /// the number back by brute force).
        stored_hash: String,
        /// The batch did not name `household`: keep the label held, whatever
        /// the body says (a client that does not know the field).
        keep_household: bool,
    },
    Assessment {
        score: ServerScore,
        /// Each indicator's points as scored ([`facts::points_text`]),
        /// kept for reports.
        points: String,
    },
    Evidence,
    /// A delete (`RecordBody::Tombstone`): the rules are the storage's.
    Tombstone,
}

/// What became of a push batch.
#[derive(Debug, Clone)]
pub enum PushOutcome {
    /// Applied now; the response JSON, stored for replays.
    Applied(String),
    /// Seen before with the same content: the original response JSON.
    Replayed(String),
    /// Same batch id, different content.
    BatchConflict,
    /// A new batch whose seq is not above the last applied one.
    SeqOutOfOrder { last: u64 },
}

/// The key of a batch: its id and the keyed hash of its canonical content
/// (keyed, since a batch may hold a CCCD).
#[derive(Debug, Clone)]
pub struct BatchKey {
    pub batch_id: Uuid,
    pub seq: u64,
    pub content_hash: String,
}

/// A review decision by an officer. Each acts only on the state the officer
/// saw, so two reviewers of one assessment never overwrite each other: the
/// second is refused with `wrong_state`.
#[derive(Debug, Clone)]
pub enum ReviewAction {
    /// `submitted` → `approved`.
    Approve,
    /// `from` → `returned`, where `from` is the state the reviewer saw:
    /// `submitted`, or `approved` (an approval withdrawn before recognition).
    Return {
        reason: String,
        from: cdht_core::sync::ReviewState,
    },
}

#[derive(Debug, Clone)]
pub struct Recognition {
    pub decision_no: String,
    pub decision_date: String,
    pub assessments: Vec<AssessmentId>,
}

/// A person recognised in the year asked about, by an assessment of a unit's
/// subtree: what their exemplary status is computed from.
#[derive(Debug, Clone)]
pub struct ExemplaryCandidate {
    pub person: PersonId,
    pub person_name: String,
    /// The recognised assessment of that year (the first by id, if several)
    /// and its unit.
    pub assessment: AssessmentId,
    pub unit: UnitCode,
    /// That assessment's catalog, whose rules say how many years in a row
    /// make a person eligible.
    pub catalog: String,
    /// Every year the person was recognised in, in any unit.
    pub recognised_years: Vec<i32>,
    /// The exemplary title of that year, once granted.
    pub title: Option<ExemplaryTitle>,
}

/// One page of [`ExemplaryCandidate`]s, by person id.
#[derive(Debug, Clone)]
pub struct ExemplaryCandidatePage {
    pub candidates: Vec<ExemplaryCandidate>,
    /// The last person of this page when there are more.
    pub next: Option<PersonId>,
}

/// The decision that granted the exemplary title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExemplaryTitle {
    pub decision_no: String,
    #[schema(format = Date, value_type = String)]
    pub decision_date: String,
}

/// An exemplary title granted by a decision to persons eligible in `year`.
#[derive(Debug, Clone)]
pub struct ExemplaryGrant {
    pub year: u16,
    pub title: ExemplaryTitle,
    pub persons: Vec<PersonId>,
}

/// Counters for operators and tests.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Stats {
    pub persons: u64,
    pub assessments: u64,
    pub evidence_records: u64,
    pub blobs_complete: u64,
    /// Every evidence byte ever accepted (a byte accepted twice would show here).
    pub evidence_bytes_accepted: u64,
    pub batches: u64,
}

/// One device's upload of one photo: what the device announced in its
/// evidence records and must send itself (docs/sync-protocol.md, "Evidence").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadKey {
    /// The device id, as stored.
    pub device: String,
    pub sha256: String,
}

impl UploadKey {
    #[must_use]
    pub fn new(device: &str, sha256: &str) -> Self {
        Self {
            device: device.to_owned(),
            sha256: sha256.to_owned(),
        }
    }
}

/// Where a device's upload of a photo stands, for the upload handler.
#[derive(Debug, Clone)]
pub struct UploadProgress {
    /// The size this device announced.
    pub size: u64,
    pub received: u64,
    pub complete: bool,
    /// Its pieces are where servers before migration 8 kept them (see
    /// `cdht_server::blobs::Parts`).
    pub legacy_parts: bool,
}

pub trait Storage: Send + Sync + 'static {
    // units
    fn add_unit(&self, unit: &NewUnit) -> StorageResult<()> {
        self.add_units(std::slice::from_ref(unit))
    }
    /// Adds several units in one transaction: all or none.
    fn add_units(&self, units: &[NewUnit]) -> StorageResult<()>;
    fn unit(&self, code: &str) -> StorageResult<Option<UnitRow>>;
    /// Every unit, by code.
    fn units(&self) -> StorageResult<Vec<UnitRow>>;
    /// The unit itself, then its parent, up to the root.
    fn ancestors(&self, code: &str) -> StorageResult<Vec<UnitCode>>;
    fn set_join_key(&self, code: &str, join_key: &str) -> StorageResult<()>;

    // devices and officers
    /// Enrols (or re-enrols) a device; `None` when the unit or key is wrong.
    /// A known `device_id` is re-enrolled only when `current_token_hash` is
    /// that device's token; otherwise the device gets a new id, so nobody
    /// holding the public join key can take over another phone. Returns the
    /// unit, the device's last applied push seq and its id.
    fn enrol_device(
        &self,
        unit: &str,
        join_key: &str,
        device: EnrolDevice<'_>,
        token_hash: &str,
    ) -> StorageResult<Option<(UnitRow, u64, DeviceId)>>;
    /// Who holds the token `token_hash` at `now` (an officer's session
    /// counts until it expires).
    fn subject_for_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<Subject>>;
    fn add_officer(
        &self,
        username: &str,
        password_hash: &str,
        grants: &[RoleGrant],
    ) -> StorageResult<()>;
    /// (officer id, password hash, grants)
    fn officer_login(&self, username: &str)
        -> StorageResult<Option<(i64, String, Vec<RoleGrant>)>>;
    fn add_session(
        &self,
        officer_id: i64,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StorageResult<()>;
    /// Binds an officer to a device (`unit_records`) or, with `None`, unbinds
    /// it (`own_records`).
    fn bind_officer(&self, device_id: DeviceId, officer_id: Option<i64>) -> StorageResult<()>;

    // sync
    fn apply_push(
        &self,
        device: &DeviceRef,
        key: &BatchKey,
        records: &[PreparedRecord],
    ) -> StorageResult<PushOutcome>;
    /// The effective area type of the unit owning each of these assessments
    /// (those the server has), which an edit is scored with.
    fn assessment_areas(&self, ids: &[Uuid]) -> StorageResult<HashMap<Uuid, AreaType>>;
    /// The changes since `since` that the device's scope covers; pulled
    /// persons carry their household label only when `household` (the
    /// client asked for it: older clients refuse unknown fields).
    fn pull(
        &self,
        device: &DeviceRef,
        since: u64,
        limit: u32,
        household: bool,
    ) -> StorageResult<PullResponse>;

    // review
    fn assessment_unit(&self, id: AssessmentId) -> StorageResult<Option<UnitCode>>;
    /// One assessment with its person, photos and last review; `None` when unknown.
    fn assessment_record(&self, id: AssessmentId) -> StorageResult<Option<AssessmentRecord>>;
    fn list_assessments(&self, unit: &str) -> StorageResult<Vec<AssessmentSummary>>;
    fn review(&self, id: AssessmentId, actor: &str, action: &ReviewAction) -> StorageResult<()>;
    fn recognise(&self, unit: &str, actor: &str, recognition: &Recognition) -> StorageResult<()>;
    /// The duplicate groups with an assessment in the unit's subtree, by
    /// their first assessment id, after `after`, at most `limit`.
    fn duplicates(
        &self,
        unit: &str,
        after: Option<AssessmentId>,
        limit: u32,
    ) -> StorageResult<DuplicatePage>;
    fn audit(&self, unit: &str) -> StorageResult<Vec<AuditEntry>>;
    /// The persons recognised in `year` by an assessment of the unit's
    /// subtree, by person id, after `after`, at most `limit`.
    fn exemplary_candidates(
        &self,
        unit: &str,
        year: u16,
        after: Option<PersonId>,
        limit: u32,
    ) -> StorageResult<ExemplaryCandidatePage>;
    /// Records the exemplary title for every person of `grant`, all or
    /// nothing: each must be recognised in `grant.year` by an assessment of
    /// the unit's subtree and eligible by `status` (`not_eligible`
    /// otherwise; `not_found` for a person with no assessment there). A
    /// title already granted that year by the same decision is left as is;
    /// by another, `already_granted`.
    fn grant_exemplary(
        &self,
        unit: &str,
        actor: &str,
        grant: &ExemplaryGrant,
        status: &dyn Fn(&ExemplaryCandidate) -> StorageResult<cdht_core::ExemplaryStatus>,
    ) -> StorageResult<()>;

    // reports, queue and documents (issue 13)
    /// What the report of `unit` for `year` is computed from (`cdht_server::report`).
    fn report_facts(&self, unit: &str, year: u16) -> StorageResult<crate::facts::ReportFacts>;
    /// Full names of persons by id; unknown ids are left out.
    fn person_names(&self, ids: &[String]) -> StorageResult<HashMap<String, String>>;
    /// One page of the review queue of the subtree of `unit`.
    fn review_queue(
        &self,
        unit: &str,
        filter: &crate::queue::QueueFilter,
    ) -> StorageResult<crate::queue::QueuePage>;
    /// The certificate of a recognised assessment, its verification token
    /// stored as `new_token` the first time (kept after). `None` when no
    /// such assessment; `not_recognised` (conflict) when not recognised.
    fn certificate(
        &self,
        id: AssessmentId,
        new_token: &str,
    ) -> StorageResult<Option<crate::facts::CertificateFacts>>;
    /// What a verification token certifies, while its assessment is recognised.
    fn verify_certificate(
        &self,
        token: &str,
    ) -> StorageResult<Option<crate::facts::CertificateFacts>>;
    /// The people a decision (by number) recognised in the subtree of `unit`.
    fn decision_list(
        &self,
        unit: &str,
        decision_no: &str,
    ) -> StorageResult<Vec<crate::facts::DecisionRow>>;

    // evidence
    /// Where each photo's upload stands, as `reader` may see it: a device,
    /// its own upload (what it still has to send), or complete for a photo
    /// it never announced but may read; an officer, the uploads of the
    /// records its roles cover. Any other photo is unknown (`size` 0),
    /// whether or not the server holds its bytes.
    fn evidence_status(
        &self,
        reader: &Reader,
        sha256: &[String],
    ) -> StorageResult<Vec<EvidenceStatus>>;
    /// A device's upload of a photo, or `None` when the device announced
    /// no such photo in an evidence record.
    fn upload_progress(&self, key: &UploadKey) -> StorageResult<Option<UploadProgress>>;
    /// Counts a stored chunk, only if `offset` is still the received count.
    fn upload_add_chunk(&self, key: &UploadKey, offset: u64, len: u64) -> StorageResult<bool>;
    /// Marks an upload complete (`ok`), or, when its bytes failed their
    /// check, open again from offset 0. Never touches one already complete.
    fn upload_finish(&self, key: &UploadKey, ok: bool) -> StorageResult<()>;
    /// Uploads with every byte received but not complete (a completion cut
    /// short), for the start-up repair.
    fn stuck_uploads(&self) -> StorageResult<Vec<UploadKey>>;
    /// The size of a photo `reader` may download: one named by an evidence
    /// record `reader` may read whose uploader sent every byte of it.
    fn readable_photo(&self, sha256: &str, reader: &Reader) -> StorageResult<Option<u64>>;

    // catalogs installed on this server (`cdht-server catalogs add`)
    fn catalogs(&self) -> StorageResult<Vec<Catalog>>;
    /// (id, revision) of each installed catalog: cheap, to tell when a cache is stale.
    fn catalog_revisions(&self) -> StorageResult<Vec<(String, u32)>>;
    /// Installs a catalog and appends a catalog change for every device.
    /// Refused (`stale_revision`) unless its revision is above the installed one.
    fn add_catalog(&self, catalog: &Catalog) -> StorageResult<()>;
    /// Appends a catalog change for a catalog built into this server whose
    /// revision no device has been told of yet (above the revision already
    /// announced and above any installed one), so devices that shipped an
    /// older revision replace it. With no device enrolled yet it is only
    /// recorded as announced (devices that enrol later run a build that
    /// ships it). Returns whether a change was appended.
    fn announce_shipped_catalog(&self, catalog: &Catalog) -> StorageResult<bool>;

    // `units import`: new units and updates of existing ones
    /// Adds `new` and applies `updates` in one transaction: all or none.
    /// Appends a unit change for each updated unit that really changed and
    /// for each unit whose inherited area changed with it. Returns the codes
    /// of the updated units that changed.
    fn import_units(&self, new: &[NewUnit], updates: &[UnitUpdate])
        -> StorageResult<Vec<UnitCode>>;

    fn stats(&self) -> StorageResult<Stats>;

    /// Folds the write-ahead log into the database and empties it (SQLite:
    /// `wal_checkpoint(TRUNCATE)`). `wait`: wait for readers and writers
    /// (on shutdown) rather than give up at once (periodically, under load).
    /// Returns whether the log was emptied.
    fn checkpoint(&self, wait: bool) -> StorageResult<bool>;

    // settings (server-wide, written by the operator's commands)
    fn setting(&self, key: &str) -> StorageResult<Option<String>>;
    fn set_setting(&self, key: &str, value: &str) -> StorageResult<()>;
}
