//! Pull: who gets which records (the device's scope), and paging through
//! them with `since` and `limit`.

use crate::db::ReviewAction;
use crate::fixture::{
    collector, enrol, person_with_assessment, pull_all, push_accepted, tree, Device,
};
use crate::Backend;
use cdht_core::ids::AssessmentId;
use cdht_core::sync::{Change, DeviceState, RecordBody, RecordEnvelope, ServerChange};
use cdht_core::AreaType;
use cdht_test_support::records::{assessment, evidence, person, v1};
use uuid::Uuid;

/// The records of a pull: (id, version), in order; each envelope's hash
/// must be its body's (what a device checks), and a person never carries
/// the CCCD.
fn records(changes: &[ServerChange]) -> Vec<(Uuid, u32)> {
    changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::Record { record, .. } => {
                assert_eq!(record.hash, record.body.hash_v1(), "{record:?}");
                if let RecordBody::Person(p) = &record.body {
                    assert!(p.cccd.is_none(), "a pulled person carries no CCCD");
                }
                Some((record.body.id(), record.version))
            }
            _ => None,
        })
        .collect()
}

fn pulled(s: &dyn crate::db::Storage, device: &Device) -> Vec<(Uuid, u32)> {
    records(&pull_all(s, device, 0, 100))
}

/// An `own_records` phone gets others' changes to the people it pushed and
/// nothing else; a collector device its subtree's records but its own; a
/// device of another commune none; the district's collector both communes.
pub fn pull_scopes(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let a = enrol(&*s, "C1");
    let b = enrol(&*s, "C1");
    let (pa, aa) = person_with_assessment(
        &*s,
        &a,
        1,
        "Của A",
        Some("001088000001"),
        2025,
        DeviceState::Submitted,
    );
    let (pb, ab) = person_with_assessment(&*s, &b, 1, "Của B", None, 2025, DeviceState::Draft);
    let commune = collector(&*s, "C1");
    let other = collector(&*s, "C2");
    let district = collector(&*s, "D");
    let (pc, ac) = person_with_assessment(&*s, &other, 1, "Của C2", None, 2025, DeviceState::Draft);

    assert!(
        pulled(&*s, &a).is_empty(),
        "not its own pushes, not B's people"
    );
    assert!(pulled(&*s, &b).is_empty());
    let c1_records = vec![
        (*pa.as_uuid(), 1),
        (*aa.as_uuid(), 1),
        (*pb.as_uuid(), 1),
        (*ab.as_uuid(), 1),
    ];
    assert_eq!(pulled(&*s, &commune), c1_records, "in the order stored");
    assert_eq!(pulled(&*s, &other), vec![], "its own pushes only");
    let mut both = c1_records.clone();
    both.extend([(*pc.as_uuid(), 1), (*ac.as_uuid(), 1)]);
    assert_eq!(pulled(&*s, &district), both);

    // The unit and area a pulled record comes with are its owner's.
    let units: Vec<(String, AreaType)> = pull_all(&*s, &district, 0, 100)
        .into_iter()
        .filter_map(|c| match c.change {
            Change::Record { unit, area, .. } => Some((unit.to_string(), area)),
            _ => None,
        })
        .collect();
    assert_eq!(units[0], ("C1".to_owned(), AreaType::Difficult));
    assert_eq!(units[5], ("C2".to_owned(), AreaType::Normal));

    // The commune's collector edits A's assessment: A hears of it, B not.
    let a_cursor = pull_all(&*s, &a, 0, 100).last().map_or(0, |c| c.seq);
    push_accepted(
        &*s,
        &commune,
        1,
        vec![RecordEnvelope::seal(
            assessment(aa, pa, DeviceState::Submitted, [9; 10]),
            2,
        )],
    );
    assert_eq!(
        records(&pull_all(&*s, &a, a_cursor, 100)),
        vec![(*aa.as_uuid(), 2)]
    );
    assert!(pulled(&*s, &b).is_empty());
    assert_eq!(
        pulled(&*s, &district)
            .iter()
            .filter(|r| r.0 == *aa.as_uuid())
            .count(),
        2,
        "a record changed twice comes twice"
    );

    // A review reaches the phone of the person, not the neighbour's.
    s.review(aa, "reviewer", &ReviewAction::Approve).unwrap();
    let heard: Vec<AssessmentId> = pull_all(&*s, &a, a_cursor, 100)
        .into_iter()
        .filter_map(|c| match c.change {
            Change::Review { assessment, .. } => Some(assessment),
            _ => None,
        })
        .collect();
    assert_eq!(heard, vec![aa]);
    assert!(pull_all(&*s, &b, 0, 100).is_empty());
    assert!(
        pull_all(&*s, &other, 0, 100)
            .iter()
            .all(|c| !matches!(c.change, Change::Review { .. })),
        "not another commune's reviews"
    );
}

/// Paging through a collector's pull, 1, 2 or 3 at a time, gives every
/// change of one long pull exactly once and in order, whatever the page
/// size; a pull from the end is empty and keeps the cursor.
pub fn pull_pages_every_change_once(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phones = [enrol(&*s, "C1"), enrol(&*s, "C1")];
    let mut pushed = Vec::new();
    for seq in 1..=4 {
        for phone in &phones {
            let (pid, body) = person(&format!("Người {seq}"), None);
            let aid = AssessmentId::new_v7();
            let photo = cdht_test_support::photo(seq, 1000);
            push_accepted(
                &*s,
                phone,
                seq,
                vec![
                    v1(body),
                    v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
                    v1(evidence(aid, &photo)),
                ],
            );
            pushed.extend([*pid.as_uuid(), *aid.as_uuid()]);
            if seq == 2 {
                s.review(aid, "reviewer", &ReviewAction::Approve).unwrap();
            }
        }
    }
    let commune = collector(&*s, "C1");
    let whole = pull_all(&*s, &commune, 0, 500);
    let ids = records(&whole);
    assert_eq!(ids.len(), 24, "every record: {ids:?}");
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 24, "each once");
    let persons_and_assessments: Vec<Uuid> = ids
        .iter()
        .map(|r| r.0)
        .filter(|id| pushed.contains(id))
        .collect();
    assert_eq!(persons_and_assessments, pushed, "in the order stored");
    let reviews = whole
        .iter()
        .filter(|c| matches!(c.change, Change::Review { .. }))
        .count();
    assert_eq!(reviews, 2);
    for limit in [1, 2, 3] {
        let paged = pull_all(&*s, &commune, 0, limit);
        assert_eq!(paged, whole, "pages of {limit}");
    }
    // From the middle on: the tail of the whole pull.
    let middle = whole[10].seq;
    assert_eq!(pull_all(&*s, &commune, middle, 4), whole[11..].to_vec());
    let end = whole.last().unwrap().seq;
    let last = s.pull(&commune.r, end, 10, false).unwrap();
    assert!(last.changes.is_empty() && !last.more);
    assert_eq!(last.cursor, end);
}
