//! Records as a push handler hands them to storage (checked and scored),
//! and calls made on both backends of [`Twins`].
#![allow(dead_code, clippy::unwrap_used)]

use super::twins::Twins;
use cdht_core::assessment::Answers;
use cdht_core::ids::{CatalogId, DeviceId, GroupId, IndicatorId, UnitCode};
use cdht_core::sync::{
    AssessmentRecord, DeviceScope, DeviceState, EvidenceRecord, PersonRecord, RecordBody,
    RecordEnvelope, ServerScore,
};
use cdht_server_db::{
    BatchKey, CccdUpdate, DeviceRef, EnrolDevice, PreparedRecord, PushOutcome, RecordCheck,
};
use uuid::Uuid;

pub fn id<T: std::str::FromStr>(n: u128) -> T
where
    T::Err: std::fmt::Debug,
{
    Uuid::from_u128(n).to_string().parse().unwrap()
}

pub fn envelope(version: u32, body: RecordBody) -> RecordEnvelope {
    RecordEnvelope {
        version,
        hash: cdht_core::digest::sha256_hex(&body.canonical_json()),
        body,
    }
}

pub fn person(n: u128, version: u32, name: &str, cccd: Option<&str>) -> PreparedRecord {
    let body = RecordBody::Person(PersonRecord {
        id: id(n),
        full_name: name.into(),
        birth_year: Some(1980),
        cccd: cccd.map(str::to_owned),
        phone: None,
        address: Some("Thôn 1".into()),
        keep_cccd: false,
        household: Some("Hộ A".into()),
    });
    let envelope = envelope(version, body);
    PreparedRecord {
        check: RecordCheck::Person {
            cccd: cccd.map_or(CccdUpdate::Erase, |c| CccdUpdate::Set(format!("hmac-{c}"))),
            stored_hash: format!("keyed-{}", envelope.hash),
            keep_household: false,
        },
        envelope,
    }
}

pub fn assessment(n: u128, person: u128, version: u32, state: DeviceState) -> PreparedRecord {
    let body = RecordBody::Assessment(AssessmentRecord {
        id: id(n),
        person: id(person),
        year: 2026,
        catalog: CatalogId::new("244-2022"),
        group: GroupId::new("individual"),
        answers: Answers::default(),
        state,
        device_total: Some(7),
    });
    PreparedRecord {
        envelope: envelope(version, body),
        check: RecordCheck::Assessment {
            score: ServerScore {
                total: 7,
                passed: false,
                threshold: 8,
            },
            points: "1.1:7".into(),
        },
    }
}

pub fn evidence(n: u128, assessment: u128, sha: &str, size: u64) -> PreparedRecord {
    let body = RecordBody::Evidence(EvidenceRecord {
        id: id(n),
        assessment: id(assessment),
        indicator: IndicatorId::new("1.1"),
        sha256: sha.into(),
        size,
        content_type: "image/jpeg".into(),
    });
    PreparedRecord {
        envelope: envelope(1, body),
        check: RecordCheck::Evidence,
    }
}

pub fn key(n: u128, seq: u64) -> BatchKey {
    BatchKey {
        batch_id: Uuid::from_u128(n),
        seq,
        content_hash: format!("content-{n}"),
    }
}

pub fn outcome(o: &PushOutcome) -> String {
    format!("{o:?}")
}

/// Enrols a device of `unit` on both backends, with the same id.
pub fn enrol(t: &Twins, n: u128, unit: &str, key: &str) -> DeviceRef {
    let device_id: DeviceId = id(n);
    t.same(
        "enrol",
        |db| {
            db.enrol_device(
                unit,
                key,
                EnrolDevice {
                    device_id,
                    label: None,
                    current_token_hash: None,
                },
                &format!("token-{n}"),
            )
        },
        |r| r.as_ref().map(|(u, seq, d)| (u.code.clone(), *seq, *d)),
    )
    .unwrap();
    DeviceRef {
        device_id,
        unit: UnitCode::new(unit),
        scope: DeviceScope::OwnRecords,
    }
}

pub fn push(t: &Twins, what: &str, device: &DeviceRef, key: &BatchKey, records: &[PreparedRecord]) {
    t.same(what, |db| db.apply_push(device, key, records), outcome)
        .unwrap();
}

/// Enrols a device of C1 on one backend.
pub fn enrol_one(db: &dyn cdht_server_db::Storage, n: u128) -> DeviceRef {
    let device_id: DeviceId = id(n);
    db.enrol_device(
        "C1",
        "key-C1",
        EnrolDevice {
            device_id,
            label: None,
            current_token_hash: None,
        },
        &format!("token-{n}"),
    )
    .unwrap()
    .unwrap();
    DeviceRef {
        device_id,
        unit: UnitCode::new("C1"),
        scope: DeviceScope::OwnRecords,
    }
}
