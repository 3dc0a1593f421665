#![allow(clippy::unwrap_used)]
//! The change log names stored records instead of holding copies of them
//! (migration 0006, issue 17): what a device pulls is the record's current
//! version rebuilt from its row, equal to what was pushed (a person without
//! its CCCD), in the order the records were first stored.

use cdht_core::ids::{AssessmentId, UnitCode};
use cdht_core::sync::{AckOutcome, Change, DeviceState, RecordBody, RecordEnvelope};
use cdht_sync_client::{envelope, sha256_hex};
use cdht_test_support::records::{assessment, batch, evidence, person, push_accepted, v1};
use cdht_test_support::server::start;

fn records(changes: Vec<cdht_core::sync::ServerChange>) -> Vec<(UnitCode, RecordEnvelope)> {
    changes
        .into_iter()
        .filter_map(|c| match c.change {
            Change::Record { unit, record, .. } => Some((unit, record)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn pulled_records_are_the_stored_versions_rebuilt_exactly() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let (pid, first) = person("Nguyễn Thị Lan", Some("001190012345"));
    let aid = AssessmentId::new_v7();
    // A draft with uneven answers and the device's own total: all of it must
    // come back as sent.
    let draft = assessment(aid, pid, DeviceState::Draft, [8, 7, 6, 5, 4, 3, 2, 1, 0, 8]);
    let photo = evidence(aid, b"the bytes of a photo");
    push_accepted(
        &phone,
        1,
        vec![v1(first.clone()), v1(draft.clone()), v1(photo.clone())],
    )
    .await;
    // The person's second version keeps the CCCD the server holds.
    let RecordBody::Person(mut second) = first else {
        unreachable!()
    };
    second.full_name = "Nguyễn Thị Lan Anh".into();
    second.cccd = None;
    second.keep_cccd = true;
    second.phone = Some("0912 345 678".into());
    second.birth_year = None;
    let second = RecordBody::Person(second);
    push_accepted(&phone, 2, vec![envelope(second.clone(), 2)]).await;

    let collector = server.device("DEMO-X1-C1").await;
    server.bind(&collector, "nhaplieu-x1-c1").await;
    let (changes, _) = collector.pull_all(0).await.unwrap();
    let pulled = records(changes);
    let unit = UnitCode::new("DEMO-X1-C1");
    // Both of the person's changes carry what the server holds now, and the
    // person still comes before their assessment.
    assert_eq!(
        pulled,
        vec![
            (unit.clone(), envelope(second.clone(), 2)),
            (unit.clone(), v1(draft)),
            (unit.clone(), v1(photo)),
            (unit, envelope(second.clone(), 2)),
        ]
    );
    // Pulled bodies hash to the hash they come with (as a device checks).
    for (_, record) in &pulled {
        assert_eq!(record.hash, sha256_hex(&record.body.canonical_json()));
    }

    // A device re-sending the version it pulled is told the server has it.
    let ack = &collector
        .push(&batch(1, vec![pulled[0].1.clone()]))
        .await
        .unwrap()
        .acks[0];
    assert_eq!(ack.outcome, AckOutcome::AlreadyHad, "{ack:?}");
}

#[tokio::test]
async fn a_phone_pulls_its_person_as_edited_elsewhere_at_the_current_version() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let (_, body) = person("Lò Văn Páo", None);
    push_accepted(&phone, 1, vec![v1(body.clone())]).await;
    // A collector edits the phone's person twice.
    let collector = server.device("DEMO-X1-C1").await;
    server.bind(&collector, "nhaplieu-x1-c1").await;
    let RecordBody::Person(mut edited) = body else {
        unreachable!()
    };
    for (seq, version) in [(1, 2), (2, 3)] {
        edited.address = Some(format!("Bản {version}"));
        push_accepted(
            &collector,
            seq,
            vec![envelope(RecordBody::Person(edited.clone()), version)],
        )
        .await;
    }
    let (changes, cursor) = phone.pull_all(0).await.unwrap();
    assert_eq!(changes.last().map(|c| c.seq), Some(cursor));
    let pulled = records(changes);
    // The collector's two changes, both at the version the server holds.
    let current = envelope(RecordBody::Person(edited), 3);
    assert_eq!(pulled.len(), 2, "{pulled:?}");
    assert!(pulled.iter().all(|(_, r)| *r == current), "{pulled:?}");
    // Nothing after the cursor.
    assert!(phone.pull(cursor).await.unwrap().changes.is_empty());
    // The collector does not get its own changes back; the phone's first
    // version comes to it as the current one.
    let (changes, _) = collector.pull_all(0).await.unwrap();
    let pulled = records(changes);
    assert_eq!(pulled.len(), 1, "{pulled:?}");
    assert_eq!(pulled[0].1, current);
}
