//! What the scenarios stand on: a small unit tree, enrolled devices,
//! officers, pushes as the handler makes them, pulls to the end.

use crate::db::{
    DeviceRef, EnrolDevice, NewUnit, PushOutcome, Refusal, Storage, StorageError, StorageResult,
    Subject,
};
use crate::prepare::{batch_key, prepare};
use cdht_core::digest::sha256_hex;
use cdht_core::ids::{AssessmentId, DeviceId, PersonId, UnitCode};
use cdht_core::sync::{
    AckOutcome, DeviceScope, DeviceState, PushBatch, PushResponse, RecordAck, RecordEnvelope, Role,
    RoleGrant, ServerChange,
};
use cdht_core::AreaType;
use cdht_test_support::records;

/// "Now" for session checks, and a time after every session's expiry.
pub const NOW: chrono::DateTime<chrono::Utc> = at(2026, 6, 1, 8);
pub const SESSION_ENDS: chrono::DateTime<chrono::Utc> = at(2026, 6, 1, 20);
pub const LATER: chrono::DateTime<chrono::Utc> = at(2026, 6, 2, 8);

/// A whole hour, UTC.
const fn at(year: i32, month: u32, day: u32, hour: u32) -> chrono::DateTime<chrono::Utc> {
    let Some(date) = chrono::NaiveDate::from_ymd_opt(year, month, day) else {
        panic!("not a date");
    };
    let Some(time) = chrono::NaiveTime::from_hms_opt(hour, 0, 0) else {
        panic!("not a time");
    };
    chrono::DateTime::from_naive_utc_and_offset(chrono::NaiveDateTime::new(date, time), chrono::Utc)
}

/// The join key of a unit of [`tree`].
#[must_use]
pub fn join_key(unit: &str) -> String {
    format!("KEY-{unit}")
}

fn new_unit(code: &str, kind: &str, parent: Option<&str>, area: Option<AreaType>) -> NewUnit {
    NewUnit {
        code: UnitCode::new(code),
        name: format!("Đơn vị {code}"),
        kind: kind.to_owned(),
        parent: parent.map(UnitCode::new),
        area,
        join_key: join_key(code),
    }
}

/// A province `P`, its district `D` (a difficult area), and two communes:
/// `C1` (inherits difficult) and `C2` (normal by its own setting).
pub fn tree(s: &dyn Storage) {
    s.add_units(&[
        new_unit("P", "province", None, None),
        new_unit("D", "district", Some("P"), Some(AreaType::Difficult)),
        new_unit("C1", "commune", Some("D"), None),
        new_unit("C2", "commune", Some("D"), Some(AreaType::Normal)),
    ])
    .unwrap();
}

/// An enrolled device and its token's hash.
#[derive(Debug, Clone)]
pub struct Device {
    pub r: DeviceRef,
    pub token_hash: String,
}

impl Device {
    #[must_use]
    pub fn id(&self) -> String {
        self.r.device_id.to_string()
    }
}

/// A fresh token's hash (what storage keeps of a bearer token).
#[must_use]
pub fn new_token_hash() -> String {
    sha256_hex(uuid::Uuid::now_v7().as_bytes())
}

/// The device a token belongs to, as the handlers see it.
pub fn device_of(s: &dyn Storage, token_hash: &str) -> DeviceRef {
    match s.subject_for_token(token_hash, NOW).unwrap() {
        Some(Subject::Device(d)) => d,
        other => panic!("token of no device: {other:?}"),
    }
}

/// A new phone enrolled in `unit` (an `own_records` device).
pub fn enrol(s: &dyn Storage, unit: &str) -> Device {
    let token_hash = new_token_hash();
    let device_id = DeviceId::new_v7();
    let (row, seq, id) = s
        .enrol_device(
            unit,
            &join_key(unit),
            EnrolDevice {
                device_id,
                label: Some("phone"),
                current_token_hash: None,
            },
            &token_hash,
        )
        .unwrap()
        .expect("enrolled");
    assert_eq!((row.code.as_str(), seq, id), (unit, 0, device_id));
    Device {
        r: device_of(s, &token_hash),
        token_hash,
    }
}

/// An officer with `role` over `unit`; returns their id.
pub fn officer(s: &dyn Storage, username: &str, role: Role, unit: &str) -> i64 {
    s.add_officer(
        username,
        "argon2-hash",
        &[RoleGrant {
            role,
            unit: UnitCode::new(unit),
        }],
    )
    .unwrap();
    s.officer_login(username).unwrap().expect("officer").0
}

/// A phone of `unit` bound to a collector officer: a `unit_records` device.
pub fn collector(s: &dyn Storage, unit: &str) -> Device {
    let mut device = enrol(s, unit);
    let id = officer(s, &format!("collector-{unit}"), Role::Collector, unit);
    s.bind_officer(device.r.device_id, Some(id)).unwrap();
    device.r = device_of(s, &device.token_hash);
    assert_eq!(device.r.scope, DeviceScope::UnitRecords);
    device
}

/// Pushes `batch` from `device` as the handler does.
pub fn push_batch(s: &dyn Storage, device: &Device, batch: &PushBatch) -> PushOutcome {
    let records = prepare(s, &device.r, batch);
    s.apply_push(&device.r, &batch_key(batch), &records)
        .unwrap()
}

/// Pushes `records` as a new batch `seq` of `device`; the acks of the
/// applied batch.
pub fn push(
    s: &dyn Storage,
    device: &Device,
    seq: u64,
    records: Vec<RecordEnvelope>,
) -> Vec<RecordAck> {
    acks(&push_batch(s, device, &records::batch(seq, records)))
}

/// [`push`], and every record must be accepted.
pub fn push_accepted(
    s: &dyn Storage,
    device: &Device,
    seq: u64,
    records: Vec<RecordEnvelope>,
) -> Vec<RecordAck> {
    let acks = push(s, device, seq, records);
    assert!(
        acks.iter().all(|a| a.outcome == AckOutcome::Accepted),
        "{acks:#?}"
    );
    acks
}

/// The acks of an applied or replayed batch.
#[must_use]
pub fn acks(outcome: &PushOutcome) -> Vec<RecordAck> {
    match outcome {
        PushOutcome::Applied(json) | PushOutcome::Replayed(json) => {
            serde_json::from_str::<PushResponse>(json).unwrap().acks
        }
        other => panic!("not applied: {other:?}"),
    }
}

/// The code of a rejected ack.
#[must_use]
pub fn rejected(ack: &RecordAck) -> &str {
    assert_eq!(ack.outcome, AckOutcome::Rejected, "{ack:?}");
    ack.code.as_deref().unwrap_or_default()
}

/// Pushes, as batch `seq`, a person named `name` (with `cccd`) and an
/// assessment of theirs for `year` in `state` with 8 points on every
/// indicator, both accepted.
pub fn person_with_assessment(
    s: &dyn Storage,
    device: &Device,
    seq: u64,
    name: &str,
    cccd: Option<&str>,
    year: u16,
    state: DeviceState,
) -> (PersonId, AssessmentId) {
    let (pid, person) = records::person(name, cccd);
    let aid = AssessmentId::new_v7();
    push_accepted(
        s,
        device,
        seq,
        vec![
            records::v1(person),
            records::v1(records::assessment_of_year(aid, pid, year, state, [8; 10])),
        ],
    );
    (pid, aid)
}

/// Pulls from `since` to the end, `limit` at a time, checking each page:
/// changes in rising order, above the cursor, the cursor the last one, and
/// `more` exactly while a page is full.
pub fn pull_all(s: &dyn Storage, device: &Device, since: u64, limit: u32) -> Vec<ServerChange> {
    let mut out: Vec<ServerChange> = Vec::new();
    let mut cursor = since;
    for _ in 0..10_000 {
        let page = s.pull(&device.r, cursor, limit, false).unwrap();
        assert!(page.changes.len() <= limit as usize, "{page:?}");
        let mut last = cursor;
        for change in &page.changes {
            assert!(
                change.seq > last,
                "not in rising order after {last}: {page:?}"
            );
            last = change.seq;
        }
        assert_eq!(page.cursor, last, "the cursor is the last change's seq");
        out.extend(page.changes);
        if !page.more {
            return out;
        }
        assert!(page.cursor > cursor, "`more` without progress: {cursor}");
        cursor = page.cursor;
    }
    panic!("pull never ended");
}

/// Whether `result` is a refusal of `kind` whose code is `code`.
pub fn assert_refused<T: std::fmt::Debug>(result: StorageResult<T>, kind: Refusal, code: &str) {
    match result {
        Err(StorageError::Refused {
            kind: k, code: c, ..
        }) => assert_eq!((k, c.as_str()), (kind, code)),
        other => panic!("expected refusal {code}, got {other:?}"),
    }
}
