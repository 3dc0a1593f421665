#![allow(clippy::unwrap_used)]
//! A pulled change of a record whose own push this device has not had
//! answered stops the page there (the planner's `PullOp::Defer`): the next
//! round pushes first, then pulls that change again, so the version that won
//! (or superseded this device's) is never skipped for good.

mod common;

use cdht_core::ids::{IndicatorId, PersonId};
use cdht_core::sync::{
    AssessmentRecord, Change, DeviceState, PersonRecord, PullResponse, RecordBody, RecordEnvelope,
    ServerChange,
};
use cdht_core::{Answer, Answers, AreaType};
use cdht_store::OutboxState;
use common::*;

fn change(seq: u64, body: RecordBody, version: u32) -> ServerChange {
    ServerChange {
        seq,
        at: "2025-11-02T03:04:05Z".to_owned(),
        change: Change::Record {
            unit: unit_code(),
            area: AreaType::Normal,
            record: RecordEnvelope::seal(body, version),
        },
    }
}

fn answers(points: i64) -> Answers {
    ["1.1", "1.2"]
        .iter()
        .map(|i| (IndicatorId::new(*i), Answer::Points(points)))
        .collect()
}

#[test]
fn a_change_waiting_for_this_devices_push_stops_the_page_until_it_is_answered() {
    let (_dir, mut store, draft) = store_with_draft();
    for (indicator, answer) in &answers(4).0 {
        store
            .set_answer(draft.assessment_id, indicator, answer, None)
            .unwrap();
    }
    // Submitted here: version 1 waits in the outbox.
    store.submit_assessment(draft.assessment_id).unwrap();
    assert_eq!(store.outbox_count(OutboxState::Pending).unwrap(), 2);

    // Another device's version 2 of it, then a person new to this device.
    let other: PersonId = "019a0000-0000-7000-8000-0000000000f1".parse().unwrap();
    let theirs = RecordBody::Assessment(AssessmentRecord {
        id: draft.assessment_id,
        person: draft.person_id,
        year: 2025,
        catalog: "324-2023".into(),
        group: "residents".into(),
        answers: answers(9),
        state: DeviceState::Submitted,
        device_total: None,
    });
    let newcomer = RecordBody::Person(PersonRecord {
        id: other,
        full_name: "Đinh Văn Sáu".to_owned(),
        birth_year: None,
        cccd: None,
        phone: None,
        address: None,
        keep_cccd: false,
        household: None,
    });
    let page = PullResponse {
        cursor: 41,
        more: false,
        changes: vec![change(40, theirs, 2), change(41, newcomer, 1)],
    };
    let unit = unit_code();
    let outcome = store.apply_pull(&unit, &page).unwrap();
    assert!(outcome.deferred, "{outcome:?}");
    assert_eq!((outcome.applied, outcome.skipped), (0, 1));
    assert_eq!(
        outcome.cursor, 39,
        "the next pull starts at the deferred change"
    );
    assert_eq!(store.pull_cursor(&unit).unwrap(), 39);
    assert!(store.person(other).is_err(), "the page stopped before it");
    assert_eq!(
        store
            .assessment_detail(draft.assessment_id)
            .unwrap()
            .answers,
        answers(4)
    );

    // The push is answered (here: accepted); the same page again applies.
    accept_all(&mut store);
    let outcome = store.apply_pull(&unit, &page).unwrap();
    assert!(!outcome.deferred);
    assert_eq!((outcome.applied, outcome.cursor), (2, 41));
    assert_eq!(
        store
            .assessment_detail(draft.assessment_id)
            .unwrap()
            .answers,
        answers(9)
    );
    assert_eq!(store.person(other).unwrap().full_name, "Đinh Văn Sáu");
}
