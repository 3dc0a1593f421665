//! The sync protocol (version 1): the JSON types a device and the server
//! exchange. Serde only; the rules are written down in `docs/sync-protocol.md`.
//!
//! In short: a device pushes frozen batches of record envelopes (ids it
//! generated, UUIDv7; a version per record; a content hash), each batch with
//! its own id and a per-device sequence number. A batch is applied atomically
//! and idempotently: a replay gets the original acks, the same batch id with
//! another payload gets `409 batch_conflict`. Review states belong to the
//! server; the device pulls them since a cursor. Evidence photos travel apart,
//! content-addressed by sha256, in resumable chunks.

use crate::assessment::{Answers, AreaType};
use crate::catalog::Catalog;
use crate::ids::{
    AssessmentId, CatalogId, DeviceId, EvidenceId, GroupId, IndicatorId, PersonId, UnitCode,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The protocol version this build's devices speak; the API lives under
/// `/api/v1`. Versions differ only in how a record's hash is made (see
/// [`PushBatch::protocol`]); the server accepts both.
pub const PROTOCOL_VERSION: u32 = 1;

/// The protocol whose record hashes are RFC 8785 of the body as sent
/// ([`RecordBody::canonical_jcs`]): what a client written from the document
/// alone sends.
pub const PROTOCOL_JCS: u32 = 2;

/// The most records one push batch may carry.
/// What `GET /healthz` names as its `service`: how a device tells a CDHT
/// server from anything else answering at an address (a router's page).
pub const HEALTH_SERVICE: &str = "cdht";

/// Largest number of records in one pushed batch.
pub const MAX_RECORDS_PER_BATCH: usize = 200;

/// The largest evidence chunk the server accepts in one request (bytes).
pub const MAX_CHUNK_BYTES: usize = 256 * 1024;

/// The error body of every non-2xx answer. `code` is stable and
/// machine-readable; `message` is for people (Vietnamese first) and never
/// carries internal error text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// With `offset_mismatch`: the bytes of the photo the server holds, the
    /// offset to continue from (absent on every other error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
    /// The code's parameters (which indicator, which minimum, ...), so a
    /// client words the code itself ([`crate::code::Code`]); absent when it
    /// has none, and from servers older than the codes.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Map<String, serde_json::Value>,
}

mod enrol;
mod evidence;
/// The device's sync decisions (pure): plan, then the store applies.
pub mod merge;
mod pull;
mod push;

pub use enrol::*;
pub use evidence::*;
pub use pull::*;
pub use push::*;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::assessment::Answer;
    use crate::ids::IndicatorId;

    #[test]
    fn envelope_round_trips_and_canonical_bytes_are_stable() {
        let body = RecordBody::Assessment(AssessmentRecord {
            id: AssessmentId::new_v7(),
            person: PersonId::new_v7(),
            year: 2025,
            catalog: "244-2022".into(),
            group: "farmers".into(),
            answers: Answers(vec![
                (IndicatorId::new("1.1"), Answer::Points(8)),
                (IndicatorId::new("1.2"), Answer::Level("a".into())),
            ]),
            state: DeviceState::Submitted,
            device_total: Some(99),
        });
        let json = serde_json::to_string(&body).unwrap();
        assert!(json.starts_with("{\"kind\":\"assessment\""), "{json}");
        let back: RecordBody = serde_json::from_str(&json).unwrap();
        assert_eq!(back, body);
        assert_eq!(back.canonical_json(), body.canonical_json());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let bad =
            r#"{"batch_id":"0190d3c2-7a9b-7cde-8f01-23456789abcd","seq":1,"records":[],"extra":1}"#;
        assert!(serde_json::from_str::<PushBatch>(bad).is_err());
    }

    #[test]
    fn change_is_tagged_and_flattened() {
        let c = ServerChange {
            seq: 3,
            at: "2025-10-01T00:00:00Z".into(),
            change: Change::Review {
                assessment: AssessmentId::new_v7(),
                state: ReviewState::Returned,
                reason: Some("Thiếu ảnh minh chứng".into()),
            },
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["kind"], "review");
        assert_eq!(v["state"], "returned");
        assert_eq!(serde_json::from_value::<ServerChange>(v).unwrap(), c);
    }

    #[test]
    fn pulled_record_nests_its_own_kind_under_record() {
        let c = ServerChange {
            seq: 9,
            at: "2025-10-01T00:00:00Z".into(),
            change: Change::Record {
                unit: UnitCode::new("XA-01"),
                area: AreaType::Difficult,
                record: RecordEnvelope {
                    version: 2,
                    hash: "00".repeat(32),
                    body: RecordBody::Person(PersonRecord {
                        id: PersonId::new_v7(),
                        full_name: "Lò Thị Mai".into(),
                        birth_year: None,
                        cccd: None,
                        phone: None,
                        address: None,
                        keep_cccd: true,
                        household: None,
                    }),
                },
            },
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["kind"], "record");
        assert_eq!(v["area"], "difficult");
        assert_eq!(v["record"]["body"]["kind"], "person");
        assert_eq!(v["record"]["body"]["keep_cccd"], true);
        assert_eq!(serde_json::from_value::<ServerChange>(v).unwrap(), c);
    }

    #[test]
    fn keep_cccd_false_is_left_out_so_old_hashes_hold() {
        let body = RecordBody::Person(PersonRecord {
            id: PersonId::new_v7(),
            full_name: "A".into(),
            birth_year: None,
            cccd: None,
            phone: None,
            address: None,
            keep_cccd: false,
            household: None,
        });
        let json = String::from_utf8(body.canonical_json()).unwrap();
        assert!(!json.contains("keep_cccd"), "{json}");
    }

    #[test]
    fn household_is_left_out_when_absent_and_batches_without_features_read() {
        let mut person = PersonRecord {
            id: PersonId::new_v7(),
            full_name: "A".into(),
            birth_year: None,
            cccd: None,
            phone: None,
            address: None,
            keep_cccd: false,
            household: None,
        };
        let without = RecordBody::Person(person.clone()).canonical_json();
        assert!(!String::from_utf8_lossy(&without).contains("household"));
        person.household = Some("Hộ ông Tám".into());
        let with = RecordBody::Person(person.clone()).canonical_json();
        let v: serde_json::Value = serde_json::from_slice(&with).unwrap();
        assert_eq!(v["household"], "Hộ ông Tám");
        assert_eq!(
            serde_json::from_value::<RecordBody>(v).unwrap(),
            RecordBody::Person(person)
        );
        let old = r#"{"batch_id":"0190d3c2-7a9b-7cde-8f01-23456789abcd","seq":1,"records":[]}"#;
        let batch: PushBatch = serde_json::from_str(old).unwrap();
        assert!(batch.features.is_empty());
        assert_eq!(serde_json::to_string(&batch).unwrap(), old);
    }

    #[test]
    fn enrol_response_without_scope_means_own_records() {
        let v = serde_json::json!({
            "device_id": DeviceId::new_v7(),
            "token": "t",
            "unit": {"code": "U", "name": "U", "kind": "branch", "parent": null, "area": "normal"},
            "last_push_seq": 0
        });
        let r: EnrolResponse = serde_json::from_value(v).unwrap();
        assert_eq!(r.scope, DeviceScope::OwnRecords);
        assert_eq!(
            DeviceScope::parse(DeviceScope::UnitRecords.as_str()),
            Some(DeviceScope::UnitRecords)
        );
    }
}
