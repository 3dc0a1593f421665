//! Protocol records as a device pushes them: bodies, envelopes with the
//! canonical hash (the sync client's `envelope`), batches.

use crate::INDICATORS;
use cdht_core::ids::{AssessmentId, EvidenceId, IndicatorId, PersonId};
use cdht_core::sync::{
    AssessmentRecord, DeviceState, EvidenceRecord, PersonRecord, PushBatch, RecordBody,
    RecordEnvelope,
};
use cdht_core::{Answer, Answers};

pub fn person(name: &str, cccd: Option<&str>) -> (PersonId, RecordBody) {
    let id = PersonId::new_v7();
    (
        id,
        RecordBody::Person(PersonRecord {
            id,
            full_name: name.to_owned(),
            birth_year: Some(1960),
            cccd: cccd.map(str::to_owned),
            phone: None,
            address: Some("Thôn Đông".to_owned()),
            keep_cccd: false,
            household: None,
        }),
    )
}

pub fn assessment(
    id: AssessmentId,
    person: PersonId,
    state: DeviceState,
    points: [i64; 10],
) -> RecordBody {
    assessment_of_year(id, person, 2025, state, points)
}

/// [`assessment`] for another year than 2025.
pub fn assessment_of_year(
    id: AssessmentId,
    person: PersonId,
    year: u16,
    state: DeviceState,
    points: [i64; 10],
) -> RecordBody {
    RecordBody::Assessment(AssessmentRecord {
        id,
        person,
        year,
        catalog: "244-2022".into(),
        group: "farmers".into(),
        answers: Answers(
            INDICATORS
                .iter()
                .zip(points)
                .map(|(i, p)| (IndicatorId::new(*i), Answer::Points(p)))
                .collect(),
        ),
        state,
        // A lie: the server must ignore it and score itself.
        device_total: Some(100),
    })
}

pub fn evidence(assessment: AssessmentId, photo: &[u8]) -> RecordBody {
    RecordBody::Evidence(EvidenceRecord {
        id: EvidenceId::new_v7(),
        assessment,
        indicator: IndicatorId::new("1.1"),
        sha256: cdht_core::digest::sha256_hex(photo),
        size: photo.len() as u64,
        content_type: "image/jpeg".into(),
    })
}

pub fn batch(seq: u64, records: Vec<RecordEnvelope>) -> PushBatch {
    PushBatch {
        batch_id: uuid::Uuid::now_v7(),
        seq,
        protocol: cdht_core::sync::PROTOCOL_VERSION,
        features: Vec::new(),
        records,
    }
}

pub fn v1(body: RecordBody) -> RecordEnvelope {
    RecordEnvelope::seal(body, 1)
}

#[cfg(feature = "server")]
/// Pushes `records` as batch `seq` and checks that each one was accepted.
pub async fn push_accepted(
    device: &cdht_sync_client::SyncClient,
    seq: u64,
    records: Vec<RecordEnvelope>,
) {
    let acks = device.push(&batch(seq, records)).await.unwrap().acks;
    assert!(
        acks.iter()
            .all(|a| a.outcome == cdht_core::sync::AckOutcome::Accepted),
        "{acks:?}"
    );
}

#[cfg(feature = "server")]
/// Pushes, as batch `seq`, a person named `name` (with `cccd`, if any) and
/// an assessment of theirs in `state` with 8 points on every indicator;
/// both must be accepted. Returns their ids.
pub async fn push_person_with_assessment(
    device: &cdht_sync_client::SyncClient,
    seq: u64,
    name: &str,
    cccd: Option<&str>,
    state: DeviceState,
) -> (PersonId, AssessmentId) {
    let (pid, body) = person(name, cccd);
    let aid = AssessmentId::new_v7();
    push_accepted(
        device,
        seq,
        vec![v1(body), v1(assessment(aid, pid, state, [8; 10]))],
    )
    .await;
    (pid, aid)
}

#[cfg(feature = "server")]
/// Pushes, as batch `seq`, a person named `name`, a submitted passing
/// assessment of theirs and one evidence record per photo (the photos'
/// bytes are not sent). Every record must be accepted. Returns the
/// assessment.
pub async fn announce_photos(
    device: &cdht_sync_client::SyncClient,
    seq: u64,
    name: &str,
    photos: &[Vec<u8>],
) -> AssessmentId {
    let (pid, body) = person(name, None);
    let aid = AssessmentId::new_v7();
    let mut records = vec![
        v1(body),
        v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
    ];
    records.extend(photos.iter().map(|p| v1(evidence(aid, p))));
    push_accepted(device, seq, records).await;
    aid
}
