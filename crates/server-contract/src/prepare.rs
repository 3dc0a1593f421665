//! Records prepared for [`Storage::apply_push`] as the server's push handler
//! prepares them (`sync-server/src/api/push.rs`): scored with the embedded
//! catalogs merged with the installed ones, at the owning unit's area type;
//! CCCDs and person hashes keyed. The handler's text checks (lengths,
//! forbidden characters) are left out: they never reach storage.
//!
//! The server secret is replaced by a fixed prefix: storage only keeps and
//! compares keyed hashes, it never computes one.

use crate::db::{BatchKey, CccdUpdate, DeviceRef, PreparedRecord, RecordCheck, Storage};
use cdht_core::digest::sha256_hex;
use cdht_core::sync::{DeviceState, PushBatch, RecordBody, RecordEnvelope, ServerScore};
use cdht_core::{AssessmentInput, Completeness};

/// What the server stores instead of the plain sha256 of something that may
/// hold a CCCD (`AppState::keyed_hash`).
#[must_use]
pub fn keyed_hash(plain_sha256: &str) -> String {
    sha256_hex(format!("contract-stored-hash:{plain_sha256}").as_bytes())
}

/// The keyed CCCD the server stores (`AppState::cccd_hmac`).
#[must_use]
pub fn cccd_key(cccd: &str) -> String {
    sha256_hex(format!("contract-cccd:{cccd}").as_bytes())
}

/// The key of `batch` as the handler makes it: its id, seq, and the keyed
/// hash of its content without `features`.
#[must_use]
pub fn batch_key(batch: &PushBatch) -> BatchKey {
    let mut content = batch.clone();
    content.features.clear();
    BatchKey {
        batch_id: batch.batch_id,
        seq: batch.seq,
        content_hash: keyed_hash(&sha256_hex(&serde_json::to_vec(&content).unwrap())),
    }
}

/// Each record of `batch` checked and scored for `device`, as the handler
/// does it (protocol 1 hashes: the envelope's hash is the body's canonical
/// one, else the record is rejected with `hash_mismatch`).
pub fn prepare(
    storage: &dyn Storage,
    device: &DeviceRef,
    batch: &PushBatch,
) -> Vec<PreparedRecord> {
    let installed = storage.catalogs().unwrap();
    let catalogs = cdht_core::merge_catalogs(cdht_core::embedded_catalogs().unwrap(), &installed);
    let device_area = storage.unit(device.unit.as_str()).unwrap().unwrap().area;
    let assessments: Vec<uuid::Uuid> = batch
        .records
        .iter()
        .filter(|r| matches!(r.body, RecordBody::Assessment(_)))
        .map(|r| r.body.id())
        .collect();
    let owner_areas = storage.assessment_areas(&assessments).unwrap();
    let knows_household = batch
        .features
        .iter()
        .any(|f| f == cdht_core::sync::FEATURE_HOUSEHOLD);
    batch
        .records
        .iter()
        .map(|envelope| {
            let check = if envelope.hash != envelope.body.hash_v1() {
                RecordCheck::Rejected {
                    code: cdht_core::Code::HashMismatch,
                }
            } else if envelope.version == 0 {
                RecordCheck::Rejected {
                    code: cdht_core::Code::BadVersion,
                }
            } else {
                check(
                    envelope,
                    &catalogs,
                    &owner_areas,
                    device_area,
                    knows_household,
                )
            };
            PreparedRecord {
                envelope: envelope.clone(),
                check,
            }
        })
        .collect()
}

fn check(
    envelope: &RecordEnvelope,
    catalogs: &[cdht_core::Catalog],
    owner_areas: &std::collections::HashMap<uuid::Uuid, cdht_core::AreaType>,
    device_area: cdht_core::AreaType,
    knows_household: bool,
) -> RecordCheck {
    match &envelope.body {
        RecordBody::Person(p) => RecordCheck::Person {
            cccd: match p.cccd.as_deref().map(str::trim) {
                None | Some("") if p.keep_cccd => CccdUpdate::Keep,
                None | Some("") => CccdUpdate::Erase,
                Some(c) => CccdUpdate::Set(cccd_key(c)),
            },
            stored_hash: keyed_hash(&envelope.hash),
            keep_household: !knows_household,
        },
        RecordBody::Assessment(a) => {
            let input = AssessmentInput {
                catalog: a.catalog.clone(),
                group: a.group.clone(),
                area: owner_areas
                    .get(a.id.as_uuid())
                    .copied()
                    .unwrap_or(device_area),
                answers: a.answers.clone(),
            };
            let completeness = match a.state {
                DeviceState::Draft => Completeness::Draft,
                DeviceState::Submitted => Completeness::Complete,
            };
            match cdht_core::score_with(catalogs, &input, completeness) {
                Ok(result) => RecordCheck::Assessment {
                    score: ServerScore {
                        total: result.total,
                        passed: result.passed,
                        threshold: result.threshold,
                    },
                    points: crate::db::facts::points_text(&result.indicators),
                },
                Err(e) => RecordCheck::Rejected {
                    code: cdht_core::Code::from(&e),
                },
            }
        }
        RecordBody::Evidence(_) => RecordCheck::Evidence,
        RecordBody::Tombstone(_) => RecordCheck::Tombstone,
    }
}
