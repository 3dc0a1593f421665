//! Likely duplicates: assessments of one person (same keyed CCCD) in one
//! year, grouped at read time, paged.

use crate::db::DuplicateGroup;
use crate::fixture::{enrol, person_with_assessment, tree};
use crate::Backend;
use cdht_core::ids::AssessmentId;
use cdht_core::sync::DeviceState;

fn members(group: &DuplicateGroup) -> Vec<(AssessmentId, String)> {
    group
        .assessments
        .iter()
        .map(|m| (m.assessment, m.unit.to_string()))
        .collect()
}

/// Three persons registered in both communes form three groups of two; the
/// same number in two years, or a person without one, forms none. Groups
/// come by first assessment id, the asking unit's members first, and
/// paging with `next` walks them all exactly once.
pub fn duplicates_group_and_page(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let here = enrol(&*s, "C1");
    let there = enrol(&*s, "C2");
    let mut seq = 0;
    let mut push = |device: &crate::fixture::Device, name: &str, cccd: &str, year| {
        seq += 1;
        person_with_assessment(
            &*s,
            device,
            seq,
            name,
            Some(cccd),
            year,
            DeviceState::Submitted,
        )
        .1
    };
    let mut pairs = Vec::new();
    for i in 0..3 {
        let cccd = format!("00108800100{i}");
        let a = push(&here, &format!("Người {i}"), &cccd, 2025);
        let b = push(&there, &format!("Người {i}"), &cccd, 2025);
        pairs.push((a, b));
    }
    // The same number in another year, a number once, no number: no group.
    push(&here, "Năm khác", "001088002000", 2025);
    push(&there, "Năm khác", "001088002000", 2026);
    push(&here, "Một mình", "001088003000", 2025);
    person_with_assessment(
        &*s,
        &here,
        99,
        "Không số",
        None,
        2025,
        DeviceState::Submitted,
    );

    let whole = s.duplicates("D", None, 100).unwrap();
    assert!(whole.next.is_none());
    assert_eq!(whole.groups.len(), 3, "{whole:?}");
    let mut firsts: Vec<AssessmentId> = pairs.iter().map(|(a, b)| *a.min(b)).collect();
    firsts.sort_unstable();
    for (group, first) in whole.groups.iter().zip(&firsts) {
        assert_eq!((group.year, group.count), (2025, 2));
        let ids: Vec<AssessmentId> = group.assessments.iter().map(|m| m.assessment).collect();
        assert_eq!(
            ids.iter().min(),
            Some(first),
            "groups by first assessment id"
        );
        let pair = pairs
            .iter()
            .find(|(a, b)| ids.contains(a) && ids.contains(b));
        assert!(pair.is_some(), "a group is one pair: {ids:?}");
    }

    // From C2: the same groups, C2's member first.
    let from_c2 = s.duplicates("C2", None, 100).unwrap();
    assert_eq!(from_c2.groups.len(), 3);
    for group in &from_c2.groups {
        let m = members(group);
        assert_eq!((m[0].1.as_str(), m[1].1.as_str()), ("C2", "C1"), "{m:?}");
    }

    for limit in [1, 2] {
        let mut walked = Vec::new();
        let mut after = None;
        for _ in 0..10 {
            let page = s.duplicates("D", after, limit).unwrap();
            assert!(page.groups.len() <= limit as usize);
            walked.extend(page.groups.iter().map(members));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let all: Vec<_> = whole.groups.iter().map(members).collect();
        assert_eq!(walked, all, "pages of {limit}");
    }

    // Each assessment of a pair names the other as a possible duplicate.
    let listed = s.list_assessments("C1").unwrap();
    for (a, b) in &pairs {
        let summary = listed.iter().find(|x| x.id == *a).unwrap();
        assert_eq!(summary.possible_duplicates, vec![*b]);
    }
    assert!(listed
        .iter()
        .filter(|x| !pairs.iter().any(|p| p.0 == x.id))
        .all(|x| x.possible_duplicates.is_empty()));

    // A pair wholly in C2 is C2's and the district's, not C1's.
    let cccd = "001088004000";
    person_with_assessment(
        &*s,
        &there,
        100,
        "Ở C2",
        Some(cccd),
        2025,
        DeviceState::Submitted,
    );
    person_with_assessment(
        &*s,
        &there,
        101,
        "Ở C2",
        Some(cccd),
        2025,
        DeviceState::Submitted,
    );
    let count = |unit: &str| s.duplicates(unit, None, 100).unwrap().groups.len();
    assert_eq!((count("C1"), count("C2"), count("D")), (3, 4, 4));
}
