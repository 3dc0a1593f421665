//! Every error and refusal a person can be shown, as a code with its
//! parameters (which indicator, which minimum, which unit). Codes cross every
//! boundary (the sync server's answers, the app's commands, the store); the
//! UI's catalogs (`ui/shared/src/i18n`) word each one in every language.
//! The only Vietnamese sentences left in Rust are [`Code::fallback_vi`], for
//! an old app that reads the server's `message` instead of the code.
//!
//! On the wire a code is one JSON object: `{"code": "below_min", ...params}`.

mod fallback_vi;
mod from;

use serde::{Deserialize, Serialize};

/// Who sends a code: what the protocol document's error table lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The sync server: an HTTP error answer or a push refusal.
    Server,
    /// The app on the device (store, photos, QR codes, the sync loop).
    App,
    /// A reason a score fails (both sides score alike).
    Score,
}

/// One code as data: for the tests that list every code and the generated
/// error table of `docs/sync-protocol.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    pub name: &'static str,
    pub origin: Origin,
    pub params: &'static [&'static str],
    /// What the code means, in English (its doc comment).
    pub meaning: &'static str,
}

/// Declares [`Code`] and, from the same list, [`Code::as_str`] and
/// [`Code::ALL`], so no code can be left out of either.
macro_rules! codes {
    ($(
        $(#[doc = $doc:literal])*
        $origin:ident $variant:ident $({ $($field:ident : $ty:ty),* $(,)? })? = $name:literal;
    )*) => {
        /// An error or refusal code with its parameters. New codes come with
        /// new versions, so matches outside this crate need a fallback arm.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(tag = "code")]
        #[non_exhaustive]
        pub enum Code {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant $({ $($field: $ty),* })?,
            )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [CodeInfo] = &[$(
                CodeInfo {
                    name: $name,
                    origin: Origin::$origin,
                    params: &[$($(stringify!($field)),*)?],
                    meaning: concat!($($doc),*),
                },
            )*];

            /// The code's stable name (the `code` of its JSON).
            #[must_use]
            pub const fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $name,)*
                }
            }
        }
    };
}

codes! {
    // The sync server: malformed requests.
    /// The body is not valid JSON.
    Server BadJson = "bad_json";
    /// The JSON has the wrong shape; `place` is the JSON path of the first problem.
    Server InvalidBody { place: Option<String> } = "invalid_body";
    /// The request could not be read.
    Server BadRequest = "bad_request";
    /// An evidence chunk's body could not be read.
    Server BadBody = "bad_body";
    /// The body must be JSON (`Content-Type: application/json`).
    Server UnsupportedMediaType = "unsupported_media_type";
    /// The body is too large: split it.
    Server PayloadTooLarge = "payload_too_large";
    /// A query parameter is wrong; `param` names it when known (`year`, `state`, `cursor`, `since`, `decision_no`).
    Server BadQuery { param: Option<String> } = "bad_query";
    /// The path is wrong (e.g. not an assessment id).
    Server BadPath = "bad_path";
    /// The method is not allowed at this path.
    Server MethodNotAllowed = "method_not_allowed";
    // The sync server: who may do what.
    /// No token, or an unknown or expired one: enrol or log in again.
    Server Unauthenticated = "unauthenticated";
    /// The unit or record is outside the token's scope.
    Server OutOfScope = "out_of_scope";
    /// The account's role may not do this.
    Server ForbiddenRole = "forbidden_role";
    /// Wrong unit code or join key (one answer for both).
    Server BadJoinKey = "bad_join_key";
    /// Wrong officer username or password.
    Server BadCredentials = "bad_credentials";
    /// Too many failed tries: wait, then retry.
    Server RateLimited = "rate_limited";
    /// No such route or object.
    Server NotFound = "not_found";
    /// The database is busy: nothing was done; retry after `Retry-After`.
    Server Busy = "busy";
    /// The server failed; retry later.
    Server Internal = "internal";
    /// The server's disk is full: nothing of this request was kept beyond
    /// what it acknowledged; retry after `Retry-After` (an operator must
    /// free space).
    Server ServerStorageFull = "server_storage_full";
    // The sync server: push batches.
    /// The batch's protocol is not one the server speaks (1 to `max`).
    Server UnsupportedProtocol { max: u32 } = "unsupported_protocol";
    /// Over `max` records in one batch.
    Server BatchTooLarge { max: u32 } = "batch_too_large";
    /// The batch's `seq` is not between 1 and `max`.
    Server BadSeq { max: u64 } = "bad_seq";
    /// The same `batch_id` came with a different payload.
    Server BatchConflict = "batch_conflict";
    /// A new batch's `seq` is not above `last`, the last one applied.
    Server SeqOutOfOrder { last: u64 } = "seq_out_of_order";
    // The sync server: refused records (a push ack's `rejected`).
    /// A record's version starts at 1.
    Server BadVersion = "bad_version";
    /// A name, phone, address or indicator id holds a control or bidi character; `field` is `full_name`, `phone`, `address`, `household`, `indicator`, `decision_no` or `reason`.
    Server InvalidText { field: String } = "invalid_text";
    /// The full name is empty or over `max` characters.
    Server InvalidName { max: u32 } = "invalid_name";
    /// The phone is over `max` characters.
    Server InvalidPhone { max: u32 } = "invalid_phone";
    /// The address is over `max` characters.
    Server InvalidAddress { max: u32 } = "invalid_address";
    /// The household label is over `max` characters.
    Server InvalidHousehold { max: u32 } = "invalid_household";
    /// The CCCD is not exactly 12 digits.
    Server InvalidCccd = "invalid_cccd";
    /// The assessment's year is not between 2021 and 2100.
    Server InvalidYear = "invalid_year";
    /// The record was changed on another device at the same version.
    Server VersionConflict = "version_conflict";
    /// The assessment was approved or recognised: the device may not change it.
    Server LockedAfterReview = "locked_after_review";
    /// The assessment was reviewed (returned, approved or recognised): the device may not delete it.
    Server DeleteAfterReview = "delete_after_review";
    /// A record may not move to another person or assessment.
    Server RecordReassigned = "record_reassigned";
    /// The record was deleted: it can be neither edited nor deleted again, and nothing new may hang on it.
    Server RecordDeleted = "record_deleted";
    /// A person with assessments cannot be deleted: delete the assessments first.
    Server PersonHasAssessments = "person_has_assessments";
    /// This device already gave this CCCD to `max` people.
    Server DuplicateLimit { max: u32 } = "duplicate_limit";
    /// The record's hash does not match its body, or an upload's bytes do not match its sha256.
    Server HashMismatch = "hash_mismatch";
    /// The evidence is not acceptable; `problem` is `not_jpeg`, `bad_dimensions`, `bad_sha256` or `too_many_hashes`.
    Server InvalidEvidence { problem: String } = "invalid_evidence";
    /// The photo is empty or over `max_mb` MB.
    Server EvidenceTooLarge { max_mb: u64 } = "evidence_too_large";
    /// Only JPEG photos are taken.
    Server UnsupportedType = "unsupported_type";
    /// The server has no evidence record for this photo yet: push it first.
    Server UnknownEvidence = "unknown_evidence";
    /// An upload's `offset` is not where the server stands (`received` bytes).
    Server OffsetMismatch { received: u64 } = "offset_mismatch";
    /// A chunk goes past the photo's declared size.
    Server ChunkOutOfRange = "chunk_out_of_range";
    // Scoring (the server refuses an assessment with these; the app shows them too).
    /// No catalog `catalog`.
    Server UnknownCatalog { catalog: String } = "unknown_catalog";
    /// No target group `group` in the catalog.
    Server UnknownGroup { group: String } = "unknown_group";
    /// Indicator `indicator` is not in the group's criteria.
    Server UnknownIndicator { indicator: String } = "unknown_indicator";
    /// Indicator `indicator` is answered twice.
    Server DuplicateIndicator { indicator: String } = "duplicate_indicator";
    /// The `indicators` are not answered.
    Server MissingIndicators { indicators: Vec<String> } = "missing_indicators";
    /// Indicator `indicator` has `points`, outside 0 to `max`.
    Server PointsOutOfRange { indicator: String, points: i64, max: u32 } = "points_out_of_range";
    /// Indicator `indicator` has no answer level `level`.
    Server UnknownLevel { indicator: String, level: String } = "unknown_level";
    // The sync server: officers' work.
    /// The assessment is in `state` and cannot go to `to` (or, with no `to`, is not approved yet).
    Server WrongState { state: String, to: Option<String> } = "wrong_state";
    /// The person was already recognised in another unit this year.
    Server AlreadyRecognisedElsewhere = "already_recognised_elsewhere";
    /// The assessment is not recognised, so it has no certificate.
    Server NotRecognised = "not_recognised";
    /// A return needs a reason of at most `max` characters.
    Server ReasonRequired { max: u32 } = "reason_required";
    /// A recognition needs a decision number and 1 to `max` assessments.
    Server InvalidRecognition { max: u32 } = "invalid_recognition";
    /// An exemplary grant needs a year, a decision number and 1 to `max` people.
    Server InvalidExemplary { max: u32 } = "invalid_exemplary";
    /// `person` is not eligible for exemplary in `year`: recognised `streak` years in a row of `required`.
    Server NotEligible { person: String, year: u32, streak: u32, required: u32 } = "not_eligible";
    /// `person` was already granted exemplary in `year` by decision `decision_no` of `decision_date`.
    Server AlreadyGranted { person: String, year: u32, decision_no: String, decision_date: String } = "already_granted";
    /// A catalog's `revision` is not above the installed `installed`.
    Server StaleRevision { catalog: String, revision: u32, installed: u32 } = "stale_revision";
    /// Unit `unit` exists already, or its parent does not.
    Server UnitExists { unit: String } = "unit_exists";
    /// No unit `unit`.
    Server UnknownUnit { unit: String } = "unknown_unit";
    /// The new parent of `unit` makes a loop in the unit tree.
    Server Cycle { unit: String } = "cycle";

    // Scores: why an assessment fails (a score's `reasons`, keyed `kind` there).
    /// The total `total` is `short_by` short of `threshold`.
    Score BelowThreshold { total: u32, threshold: u32, short_by: u32 } = "below_threshold";
    /// Indicator `indicator` has `points`, under the minimum `min`.
    Score IndicatorBelowMinimum { indicator: String, points: u32, min: u32 } = "indicator_below_minimum";
    /// The `indicators` are not answered yet.
    Score Unanswered { indicators: Vec<String> } = "unanswered";
    // Scores: the smallest changes that pass (a score's `improvements`).
    /// Raise indicator `indicator` from `from` to `to` points, `gain` more.
    Score RaiseIndicator { indicator: String, from: u32, to: u32, gain: u32 } = "raise_indicator";
    /// Raise indicator `indicator` from `from` to `to` points, answer level `level`, `gain` more.
    Score RaiseIndicatorToLevel { indicator: String, from: u32, to: u32, gain: u32, level: String } = "raise_indicator_to_level";

    // The app: the store on the device.
    /// The record already exists on the device.
    App AlreadyExists = "already_exists";
    /// The change does not match what is stored.
    App Conflict = "conflict";
    /// The assessment was sent in: it cannot be changed until it is returned.
    App Locked = "locked";
    /// The input is not right.
    App InvalidInput = "invalid_input";
    /// The device is out of storage.
    App DiskFull = "disk_full";
    /// The data on the device is damaged.
    App Corrupt = "corrupt";
    /// The data was written by a newer app version.
    App TooNew = "too_new";
    /// The key protecting the device's data cannot be opened now.
    App DatabaseKeyUnavailable = "database_key_unavailable";
    /// Saving failed.
    App StorageError = "storage_error";
    /// The app's data folder cannot be made or found.
    App DataFolderUnavailable = "data_folder_unavailable";
    /// The app failed; restart it.
    App AppFailed = "app_failed";
    // The app: joining a unit (QR codes and typed addresses).
    /// The QR code is not a CDHT unit code.
    App QrNotCdht = "qr_not_cdht";
    /// The QR code needs a newer app.
    App QrNewerVersion = "qr_newer_version";
    /// The unit code `unit` is not well formed.
    App QrBadUnitCode { unit: String } = "qr_bad_unit_code";
    /// The join key is missing or not well formed.
    App QrBadJoinKey = "qr_bad_join_key";
    /// The server address is not well formed.
    App QrBadServer = "qr_bad_server";
    /// The picked file is not a picture.
    App QrNotImage = "qr_not_image";
    /// No QR code in the picture.
    App QrNotFound = "qr_not_found";
    /// A QR code is there but cannot be read.
    App QrDamaged = "qr_damaged";
    /// The typed address answers, but not as a CDHT server.
    App JoinNotCdht = "join_not_cdht";
    /// Nothing answers at the typed address.
    App JoinServerNotAnswering = "join_server_not_answering";
    // The app: photos.
    /// The photo file is empty.
    App PhotoEmpty = "photo_empty";
    /// The photo file is over `max_mb` MB.
    App PhotoTooLarge { max_mb: u64 } = "photo_too_large";
    /// The file is not a picture.
    App PhotoNotAnImage = "photo_not_an_image";
    /// The picture's `format` is not supported (HEIC, ...).
    App PhotoUnsupportedFormat { format: String } = "photo_unsupported_format";
    /// The photo is damaged.
    App PhotoCorrupt = "photo_corrupt";
    /// The picture is too large to process.
    App PhotoDimensionsTooLarge = "photo_dimensions_too_large";
    /// The photo could not be re-encoded.
    App PhotoInternal = "photo_internal";
    /// The photo is on the server, not downloaded yet.
    App PhotoOnServer = "photo_on_server";
    /// The photo's file is gone from the device.
    App PhotoMissing = "photo_missing";
    /// The photo is not among this device's evidence.
    App PhotoUnknown = "photo_unknown";
    /// Downloading a photo needs the network.
    App PhotoFetchOffline = "photo_fetch_offline";
    /// The server does not have the whole photo yet.
    App PhotoNotOnServer = "photo_not_on_server";
    /// The photo download failed.
    App PhotoFetchFailed = "photo_fetch_failed";
    /// The picked file could not be read.
    App FileUnreadable = "file_unreadable";
    // The app: people and assessments.
    /// The full name is empty.
    App NameRequired = "name_required";
    /// The field `field` (`full_name`, `ethnicity`, `household`, `address`) holds an invisible character.
    App TextInvalid { field: String } = "text_invalid";
    /// The field `field` is over `max` characters.
    App TextTooLong { field: String, max: u32 } = "text_too_long";
    /// The birth year is not between 1900 and `max`.
    App BirthYearInvalid { max: u32 } = "birth_year_invalid";
    /// A CCCD needs the consent box ticked.
    App CccdConsentRequired = "cccd_consent_required";
    /// The CCCD is not exactly 12 digits.
    App CccdInvalid = "cccd_invalid";
    /// The person has no target group yet.
    App NoTargetGroup = "no_target_group";
    /// Indicator `indicator` is not in this assessment.
    App IndicatorNotInAssessment { indicator: String } = "indicator_not_in_assessment";
    /// The kept older answers are gone.
    App ReplacedAnswersGone = "replaced_answers_gone";
    /// The app's built-in catalogs are broken or absent.
    App CatalogBroken = "catalog_broken";
    // The app: the sync loop and officers.
    /// The sync part of the app is not running.
    App SyncUnavailable = "sync_unavailable";
    /// The sync loop did not answer in time.
    App SyncBusy = "sync_busy";
    /// An officer's username or password is empty.
    App OfficerFieldsRequired = "officer_fields_required";
    /// Wrong officer username or password.
    App OfficerBadCredentials = "officer_bad_credentials";
    /// The officer is not a collector of this device's unit.
    App OfficerNoRole = "officer_no_role";
    /// Logging an officer in needs the network.
    App OfficerOffline = "officer_offline";
    /// The server is busy or there were too many tries.
    App OfficerRetryLater = "officer_retry_later";
    /// Logging an officer out needs the network.
    App OfficerLogoutOffline = "officer_logout_offline";
    /// The device has not joined its unit yet.
    App NotEnrolled = "not_enrolled";
    /// No connection: everything is kept and sent later.
    App Offline = "offline";
    /// The server cannot take it now: everything is kept, retried later.
    App RetryLater = "retry_later";
    /// The network works, but no server answers at `server`.
    App ServerNotAnswering = "server_not_answering";
    /// The address answers, but it is not a CDHT server.
    App NotCdht = "not_cdht";
    /// The device must join its unit again (scan the QR code).
    App AuthExpired = "auth_expired";
    /// The server's certificate is not trusted.
    App CertificateUntrusted = "certificate_untrusted";
    /// The server answered outside the protocol.
    App Protocol = "protocol";
    /// Data is not sent over plain HTTP to `server`.
    App InsecureServer { server: String } = "insecure_server";
    /// A code this app version does not know, from a newer server: its own `message` (Vietnamese) is all there is.
    App Unrecognised { name: String, message: String } = "unrecognised";
}

impl Code {
    /// The code's parameters as a JSON object (its JSON without `code`).
    #[must_use]
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        map.remove("code");
        map
    }

    /// A code from its wire parts (`code` and the `params` object): a code
    /// this version does not know, or whose parameters do not fit, is
    /// [`Code::Unrecognised`] with the sender's `message`.
    #[must_use]
    pub fn from_wire(
        name: &str,
        params: Option<&serde_json::Map<String, serde_json::Value>>,
        message: &str,
    ) -> Self {
        let mut object = params.cloned().unwrap_or_default();
        object.insert("code".to_owned(), serde_json::Value::from(name));
        serde_json::from_value(serde_json::Value::Object(object)).unwrap_or_else(|_| {
            Self::Unrecognised {
                name: name.to_owned(),
                message: message.to_owned(),
            }
        })
    }

    /// The information about a code by its name.
    #[must_use]
    pub fn info(name: &str) -> Option<&'static CodeInfo> {
        Self::ALL.iter().find(|c| c.name == name)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
