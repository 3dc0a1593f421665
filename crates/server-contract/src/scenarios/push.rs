//! Push: batches applied once, replays, conflicts, the version rules, scope.

use crate::db::{PushOutcome, ReviewAction, Stats};
use crate::fixture::{acks, collector, enrol, push, push_accepted, push_batch, rejected, tree};
use crate::Backend;
use cdht_core::ids::{AssessmentId, PersonId, UnitCode};
use cdht_core::sync::{
    AckOutcome, DeviceState, RecordBody, RecordEnvelope, ReviewState, ServerScore,
};
use cdht_core::AreaType;
use cdht_test_support::records::{self, assessment, evidence, person, v1};

fn seal(body: RecordBody, version: u32) -> RecordEnvelope {
    RecordEnvelope::seal(body, version)
}

/// A person, a submitted assessment and a photo's record are stored and
/// scored: the ack carries the score the record keeps, the reviewer's view
/// shows them, the counters count them.
pub fn push_applies_and_scores(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (pid, body) = person("Lò Thị Bình", Some("001088001234"));
    let aid = AssessmentId::new_v7();
    let photo = cdht_test_support::photo(1, 3000);
    let acks = push_accepted(
        &*s,
        &phone,
        1,
        vec![
            v1(body),
            v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
            v1(evidence(aid, &photo)),
        ],
    );
    let score: ServerScore = acks[1].score.expect("an assessment's ack has its score");
    assert!(acks[0].score.is_none() && acks[2].score.is_none());
    assert!(score.total > 0 && score.threshold > 0, "{score:?}");
    assert_ne!(score.total, 100, "the server's score, not the device's");

    let record = s.assessment_record(aid).unwrap().expect("stored");
    assert_eq!(record.person, pid.to_string());
    assert_eq!(record.person_name, "Lò Thị Bình");
    assert_eq!((record.unit.as_str(), record.year), ("C1", 2025));
    assert_eq!(
        (record.catalog.as_str(), record.group.as_str()),
        ("244-2022", "farmers")
    );
    assert_eq!(record.state, "submitted");
    assert_eq!(
        (record.total, record.passed, record.threshold),
        (score.total, score.passed, score.threshold)
    );
    let sha = cdht_core::digest::sha256_hex(&photo);
    assert_eq!(record.evidence, vec![("1.1".to_owned(), sha)]);
    assert!(record.last_review.is_none());
    assert!(s
        .assessment_record(AssessmentId::new_v7())
        .unwrap()
        .is_none());
    assert_eq!(s.assessment_unit(aid).unwrap(), Some(UnitCode::new("C1")));
    assert_eq!(s.assessment_unit(AssessmentId::new_v7()).unwrap(), None);

    let listed = s.list_assessments("C1").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].version), (aid, 1));
    assert_eq!(listed[0].total, score.total);
    assert_eq!(s.list_assessments("D").unwrap().len(), 1, "the subtree");
    assert!(s.list_assessments("C2").unwrap().is_empty());

    let areas = s
        .assessment_areas(&[*aid.as_uuid(), uuid::Uuid::now_v7()])
        .unwrap();
    assert_eq!(areas.len(), 1);
    assert_eq!(areas[aid.as_uuid()], AreaType::Difficult);
    let names = s
        .person_names(&[pid.to_string(), PersonId::new_v7().to_string()])
        .unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names[&pid.to_string()], "Lò Thị Bình");
    assert_eq!(
        s.stats().unwrap(),
        Stats {
            persons: 1,
            assessments: 1,
            evidence_records: 1,
            blobs_complete: 0,
            evidence_bytes_accepted: 0,
            batches: 1,
        }
    );
}

/// A batch sent again gets the very answer stored the first time (even
/// after later batches changed its records); its id with other content, or
/// from another device, is a conflict; a new batch must have a higher seq.
pub fn push_replay_and_batch_conflicts(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (pid, body) = person("Lò Văn An", None);
    let first = records::batch(1, vec![v1(body.clone())]);
    let PushOutcome::Applied(answer) = push_batch(&*s, &phone, &first) else {
        panic!("not applied");
    };
    let PushOutcome::Replayed(again) = push_batch(&*s, &phone, &first) else {
        panic!("not replayed");
    };
    assert_eq!(again, answer);

    let RecordBody::Person(mut edited) = body else {
        unreachable!()
    };
    edited.full_name = "Lò Văn Ân".into();
    push_accepted(&*s, &phone, 2, vec![seal(RecordBody::Person(edited), 2)]);
    let PushOutcome::Replayed(later) = push_batch(&*s, &phone, &first) else {
        panic!("not replayed");
    };
    assert_eq!(later, answer, "the stored answer, not a new one");
    assert_eq!(
        acks(&PushOutcome::Replayed(later))[0].outcome,
        AckOutcome::Accepted
    );

    let mut other = first.clone();
    other.records = vec![v1(person("Người khác", None).1)];
    assert!(matches!(
        push_batch(&*s, &phone, &other),
        PushOutcome::BatchConflict
    ));
    let stranger = enrol(&*s, "C1");
    assert!(matches!(
        push_batch(&*s, &stranger, &first),
        PushOutcome::BatchConflict
    ));
    for seq in [1, 2] {
        let late = records::batch(seq, vec![v1(person("Muộn", None).1)]);
        assert!(
            matches!(
                push_batch(&*s, &phone, &late),
                PushOutcome::SeqOutOfOrder { last: 2 }
            ),
            "seq {seq}"
        );
    }
    assert_eq!(
        s.stats().unwrap().persons,
        1,
        "nothing of the refused batches"
    );
    assert_eq!(s.stats().unwrap().batches, 2);
    // Seqs may skip.
    push_accepted(&*s, &phone, 7, vec![v1(person("Sau", None).1)]);
    assert_eq!(
        s.person_names(&[pid.to_string()]).unwrap()[&pid.to_string()],
        "Lò Văn Ân"
    );
}

/// Per record: a higher version updates, a lower one is superseded, the
/// same one is already had (also in the form devices pull, without the
/// CCCD) or a conflict when it differs; re-pointing a record is refused.
pub fn push_versions_follow_the_rules(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (pid, body) = person("Lò Văn Cường", Some("001088005678"));
    let aid = AssessmentId::new_v7();
    let draft = assessment(aid, pid, DeviceState::Draft, [8; 10]);
    push_accepted(&*s, &phone, 1, vec![v1(body.clone()), v1(draft.clone())]);
    let submitted = assessment(aid, pid, DeviceState::Submitted, [8; 10]);
    push_accepted(&*s, &phone, 2, vec![seal(submitted.clone(), 2)]);
    let state = || {
        let a = &s.list_assessments("C1").unwrap()[0];
        (a.version, a.state.clone(), a.total)
    };
    let (_, _, total) = state();
    assert_eq!(state(), (2, "submitted".to_owned(), total));

    let acks = push(
        &*s,
        &phone,
        3,
        vec![
            v1(draft),
            seal(submitted, 2),
            seal(assessment(aid, pid, DeviceState::Submitted, [5; 10]), 2),
        ],
    );
    assert_eq!(acks[0].outcome, AckOutcome::Superseded);
    assert_eq!(acks[1].outcome, AckOutcome::AlreadyHad);
    assert!(
        acks[1].score.is_some(),
        "an assessment already had keeps its score"
    );
    assert_eq!(rejected(&acks[2]), "version_conflict");
    assert_eq!(
        state(),
        (2, "submitted".to_owned(), total),
        "nothing changed"
    );

    let (other, other_body) = person("Người khác", None);
    let acks = push(
        &*s,
        &phone,
        4,
        vec![
            v1(other_body),
            seal(assessment(aid, other, DeviceState::Submitted, [8; 10]), 3),
        ],
    );
    assert_eq!(acks[0].outcome, AckOutcome::Accepted);
    assert_eq!(rejected(&acks[1]), "record_reassigned");
    assert_eq!(
        s.assessment_record(aid).unwrap().unwrap().person,
        pid.to_string()
    );

    // The person as devices pull it: no CCCD, `keep_cccd`, same version.
    let RecordBody::Person(mut pulled) = body else {
        unreachable!()
    };
    pulled.cccd = None;
    pulled.keep_cccd = true;
    let acks = push(&*s, &phone, 5, vec![v1(RecordBody::Person(pulled))]);
    assert_eq!(acks[0].outcome, AckOutcome::AlreadyHad, "{acks:?}");
}

/// A device may write only what its scope covers, judged on the stored
/// record: another `own_records` phone of the unit, or a collector of
/// another unit, is refused; a collector of the district above may edit,
/// and the record stays its first unit's.
pub fn push_refuses_records_of_other_units(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (pid, body) = person("Lò Văn Dũng", None);
    let aid = AssessmentId::new_v7();
    push_accepted(
        &*s,
        &phone,
        1,
        vec![
            v1(body.clone()),
            v1(assessment(aid, pid, DeviceState::Draft, [8; 10])),
        ],
    );
    let RecordBody::Person(mut edit) = body else {
        unreachable!()
    };
    edit.full_name = "Sửa".into();
    let edit = seal(RecordBody::Person(edit), 2);
    let neighbour = enrol(&*s, "C1");
    assert_eq!(
        rejected(&push(&*s, &neighbour, 1, vec![edit.clone()])[0]),
        "out_of_scope"
    );
    let elsewhere = collector(&*s, "C2");
    let acks = push(
        &*s,
        &elsewhere,
        1,
        vec![
            edit.clone(),
            v1(assessment(
                AssessmentId::new_v7(),
                pid,
                DeviceState::Draft,
                [8; 10],
            )),
        ],
    );
    assert_eq!(rejected(&acks[0]), "out_of_scope");
    assert_eq!(
        rejected(&acks[1]),
        "out_of_scope",
        "a new record on another unit's person"
    );
    assert_eq!(
        s.person_names(&[pid.to_string()]).unwrap()[&pid.to_string()],
        "Lò Văn Dũng"
    );

    let district = collector(&*s, "D");
    push_accepted(
        &*s,
        &district,
        1,
        vec![seal(
            assessment(aid, pid, DeviceState::Submitted, [8; 10]),
            2,
        )],
    );
    assert_eq!(s.assessment_unit(aid).unwrap(), Some(UnitCode::new("C1")));
    assert_eq!(s.list_assessments("C1").unwrap()[0].version, 2);
    assert!(s.list_assessments("C2").unwrap().is_empty());
    // The phone that made it still may.
    push_accepted(&*s, &phone, 2, vec![edit]);

    // A new person is the pushing phone's unit's.
    let (_, aid2) = crate::fixture::person_with_assessment(
        &*s,
        &elsewhere,
        2,
        "Người C2",
        None,
        2025,
        DeviceState::Draft,
    );
    assert_eq!(s.assessment_unit(aid2).unwrap(), Some(UnitCode::new("C2")));
}

/// A record the handler refused (a hash that does not match) is answered
/// with its code and stored nowhere; the rest of its batch is applied.
pub fn push_keeps_rejected_records_out(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (bad_id, bad) = person("Bị sửa", None);
    let mut tampered = v1(bad);
    if let RecordBody::Person(p) = &mut tampered.body {
        p.full_name = "Sửa sau khi niêm phong".into();
    }
    let (good_id, good) = person("Đúng", None);
    let acks = push(&*s, &phone, 1, vec![tampered, v1(good)]);
    assert_eq!(rejected(&acks[0]), "hash_mismatch");
    assert_eq!(acks[1].outcome, AckOutcome::Accepted);
    let names = s
        .person_names(&[bad_id.to_string(), good_id.to_string()])
        .unwrap();
    assert_eq!(names.len(), 1);
    assert!(names.contains_key(&good_id.to_string()));
    assert_eq!(
        (s.stats().unwrap().persons, s.stats().unwrap().batches),
        (1, 1)
    );
}

/// Once approved, an assessment and its photos are frozen for devices;
/// returned, they may be edited and resubmitted.
pub fn push_locked_after_review(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (pid, body) = person("Lò Thị Hoa", None);
    let aid = AssessmentId::new_v7();
    let photo = evidence(aid, &cdht_test_support::photo(2, 2000));
    push_accepted(
        &*s,
        &phone,
        1,
        vec![
            v1(body),
            v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
            v1(photo.clone()),
        ],
    );
    s.review(aid, "reviewer", &ReviewAction::Approve).unwrap();
    let acks = push(
        &*s,
        &phone,
        2,
        vec![
            seal(assessment(aid, pid, DeviceState::Submitted, [9; 10]), 2),
            seal(photo.clone(), 2),
            v1(evidence(aid, &cdht_test_support::photo(3, 2000))),
        ],
    );
    for ack in &acks {
        assert_eq!(rejected(ack), "locked_after_review");
    }
    let record = s.assessment_record(aid).unwrap().unwrap();
    assert_eq!(
        (record.state.as_str(), record.evidence.len()),
        ("approved", 1)
    );

    s.review(
        aid,
        "reviewer",
        &ReviewAction::Return {
            reason: "Thiếu ảnh".into(),
            from: ReviewState::Approved,
        },
    )
    .unwrap();
    push_accepted(
        &*s,
        &phone,
        3,
        vec![
            seal(assessment(aid, pid, DeviceState::Submitted, [9; 10]), 2),
            v1(evidence(aid, &cdht_test_support::photo(3, 2000))),
        ],
    );
    let record = s.assessment_record(aid).unwrap().unwrap();
    assert_eq!(
        (record.state.as_str(), record.evidence.len()),
        ("submitted", 2)
    );
}

/// One phone may give one CCCD to at most three of its persons; another
/// phone, or another number, is not held back.
pub fn push_limits_one_cccd_per_device(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let cccd = Some("001088009999");
    let bodies: Vec<RecordEnvelope> = (0..4)
        .map(|i| v1(person(&format!("P{i}"), cccd).1))
        .collect();
    let acks = push(&*s, &phone, 1, bodies);
    assert!(
        acks[..3].iter().all(|a| a.outcome == AckOutcome::Accepted),
        "{acks:?}"
    );
    assert_eq!(rejected(&acks[3]), "duplicate_limit");
    push_accepted(
        &*s,
        &phone,
        2,
        vec![v1(person("P4", Some("001088001111")).1)],
    );
    let other = enrol(&*s, "C1");
    push_accepted(&*s, &other, 1, vec![v1(person("P5", cccd).1)]);
    assert_eq!(s.stats().unwrap().persons, 5);
}
