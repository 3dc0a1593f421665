//! What a person record keeps across edits: the keyed CCCD (set, kept,
//! erased) and the household label (only from clients that know it).

use crate::db::Storage;
use crate::fixture::{collector, enrol, push_batch, tree, Device};
use crate::Backend;
use cdht_core::ids::AssessmentId;
use cdht_core::sync::{
    AckOutcome, Change, DeviceState, PersonRecord, RecordBody, RecordEnvelope, FEATURE_HOUSEHOLD,
};
use cdht_test_support::records::{self, assessment_of_year, person, v1};

/// Pushes `records` as batch `seq`, naming the household feature or not;
/// every record must be accepted.
fn push(s: &dyn Storage, device: &Device, seq: u64, household: bool, records: Vec<RecordEnvelope>) {
    let mut batch = records::batch(seq, records);
    if household {
        batch.features = vec![FEATURE_HOUSEHOLD.to_owned()];
    }
    let acks = crate::fixture::acks(&push_batch(s, device, &batch));
    assert!(
        acks.iter().all(|a| a.outcome == AckOutcome::Accepted),
        "{acks:?}"
    );
}

/// The person as `device` last pulled it, with or without household labels.
fn pulled(s: &dyn Storage, device: &Device, household: bool) -> PersonRecord {
    let mut last = None;
    let mut since = 0;
    loop {
        let page = s.pull(&device.r, since, 100, household).unwrap();
        for change in page.changes {
            if let Change::Record { record, .. } = change.change {
                assert_eq!(
                    record.hash,
                    record.body.hash_v1(),
                    "hash of the body as pulled"
                );
                if let RecordBody::Person(p) = record.body {
                    last = Some(p);
                }
            }
        }
        if !page.more {
            return last.expect("a person pulled");
        }
        since = page.cursor;
    }
}

fn duplicate_groups(s: &dyn Storage) -> usize {
    s.duplicates("P", None, 100).unwrap().groups.len()
}

/// A CCCD sent is kept (keyed) and never pulled; an edit without one keeps
/// it with `keep_cccd` and erases it without; a label is set, kept and
/// erased only by batches naming the household feature, and pulled only
/// by clients asking for it.
pub fn persons_keep_cccd_and_household(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let other = enrol(&*s, "C2");
    let commune = collector(&*s, "C1");
    let cccd = "001088006666";
    let (pid, body) = person("Lò Văn Khánh", Some(cccd));
    let RecordBody::Person(mut record) = body else {
        unreachable!()
    };
    record.household = Some("Hộ ông Khánh".into());
    push(
        &*s,
        &phone,
        1,
        true,
        vec![
            v1(RecordBody::Person(record.clone())),
            v1(assessment_of_year(
                AssessmentId::new_v7(),
                pid,
                2025,
                DeviceState::Submitted,
                [8; 10],
            )),
        ],
    );
    // The same number elsewhere: a group, so the number is held.
    let (twin, twin_body) = person("Lò Văn Khánh", Some(cccd));
    push(
        &*s,
        &other,
        1,
        false,
        vec![
            v1(twin_body),
            v1(assessment_of_year(
                AssessmentId::new_v7(),
                twin,
                2025,
                DeviceState::Submitted,
                [8; 10],
            )),
        ],
    );
    assert_eq!(duplicate_groups(&*s), 1);
    let seen = pulled(&*s, &commune, true);
    assert_eq!((seen.cccd, seen.keep_cccd), (None, true));
    assert_eq!(seen.household.as_deref(), Some("Hộ ông Khánh"));
    assert_eq!(
        pulled(&*s, &commune, false).household,
        None,
        "not asked for"
    );

    // An edit by a client that knows neither the number nor the label.
    let edit = |version: u32, keep_cccd: bool, household: Option<&str>| {
        RecordEnvelope::seal(
            RecordBody::Person(PersonRecord {
                full_name: format!("Lò Văn Khánh {version}"),
                cccd: None,
                keep_cccd,
                household: household.map(str::to_owned),
                ..record.clone()
            }),
            version,
        )
    };
    push(&*s, &phone, 2, false, vec![edit(2, true, None)]);
    assert_eq!(duplicate_groups(&*s), 1, "the number kept");
    let seen = pulled(&*s, &commune, true);
    assert_eq!(seen.full_name, "Lò Văn Khánh 2");
    assert_eq!(
        seen.household.as_deref(),
        Some("Hộ ông Khánh"),
        "the label kept"
    );

    push(&*s, &phone, 3, true, vec![edit(3, true, Some("Hộ mới"))]);
    let seen = pulled(&*s, &commune, true);
    assert_eq!(seen.household.as_deref(), Some("Hộ mới"));
    // The very version pulled, sent back in either form, is already had.
    for (seq, household) in [(1, true), (2, false)] {
        let form = PersonRecord {
            household: household.then(|| "Hộ mới".to_owned()),
            ..seen.clone()
        };
        let batch = records::batch(seq, vec![RecordEnvelope::seal(RecordBody::Person(form), 3)]);
        let acks = crate::fixture::acks(&push_batch(&*s, &commune, &batch));
        assert_eq!(
            acks[0].outcome,
            AckOutcome::AlreadyHad,
            "label sent: {household}"
        );
    }
    push(&*s, &phone, 4, true, vec![edit(4, true, None)]);
    assert_eq!(
        pulled(&*s, &commune, true).household,
        None,
        "erased by a client that knows it"
    );

    push(&*s, &phone, 5, false, vec![edit(5, false, None)]);
    assert_eq!(duplicate_groups(&*s), 0, "the number erased");
    let seen = pulled(&*s, &commune, false);
    assert_eq!(
        (seen.full_name.as_str(), seen.keep_cccd),
        ("Lò Văn Khánh 5", false)
    );
}
