//! What a unit's yearly report is computed from (`report_facts`).

use crate::db::{Recognition, ReviewAction, Storage};
use crate::fixture::{enrol, push_accepted, tree, Device};
use crate::Backend;
use cdht_core::ids::{AssessmentId, PersonId};
use cdht_core::sync::{DeviceState, ReviewState};
use cdht_test_support::records::{assessment_of_year, person, v1};

/// A person with an assessment of each of `years` in `state`; those
/// approved are recognised when `recognise`.
fn person_of_years(
    s: &dyn Storage,
    device: &Device,
    seq: u64,
    years: &[u16],
    state: DeviceState,
    recognise: bool,
) -> (PersonId, Vec<AssessmentId>) {
    let (pid, body) = person("Người báo cáo", None);
    let ids: Vec<AssessmentId> = years.iter().map(|_| AssessmentId::new_v7()).collect();
    let mut records = vec![v1(body)];
    for (id, year) in ids.iter().zip(years) {
        records.push(v1(assessment_of_year(*id, pid, *year, state, [8; 10])));
    }
    push_accepted(s, device, seq, records);
    if recognise {
        for (id, year) in ids.iter().zip(years) {
            s.review(*id, "lan", &ReviewAction::Approve).unwrap();
            let decision = Recognition {
                decision_no: format!("QĐ-{year}"),
                decision_date: format!("{year}-12-01"),
                assessments: vec![*id],
            };
            s.recognise(device.r.unit.as_str(), "chu-tich", &decision)
                .unwrap();
        }
    }
    (pid, ids)
}

/// The facts of a subtree's year: its units (the one asked about first,
/// each with its parent), the year's assessments with state, passing and
/// each indicator's points as scored, the members, and the earlier years
/// of those recognised.
pub fn report_facts_of_a_subtree(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let here = enrol(&*s, "C1");
    let there = enrol(&*s, "C2");
    let (x, x_ids) = person_of_years(&*s, &here, 1, &[2024, 2025], DeviceState::Submitted, true);
    let (y, _) = person_of_years(&*s, &there, 1, &[2025], DeviceState::Draft, false);
    let (z, _) = person_of_years(&*s, &here, 2, &[2024], DeviceState::Submitted, false);

    let facts = s.report_facts("D", 2025).unwrap();
    assert_eq!(facts.year, 2025);
    assert_eq!(
        (facts.units[0].code.as_str(), facts.units[0].parent),
        ("D", None)
    );
    let mut codes: Vec<&str> = facts.units.iter().map(|u| u.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(codes, ["C1", "C2", "D"], "the subtree, not above it");
    assert!(facts.units[1..].iter().all(|u| u.parent == Some(0)));
    let unit_of = |i: u32| facts.units[i as usize].code.as_str();
    let person_of = |i: u32| facts.people[i as usize].as_str();

    assert_eq!(facts.assessments.len(), 2, "the year's assessments only");
    let fx = facts
        .assessments
        .iter()
        .find(|a| person_of(a.person) == x.to_string())
        .expect("X's");
    assert_eq!(
        (unit_of(fx.unit), fx.state),
        ("C1", ReviewState::Recognised)
    );
    assert_eq!(facts.groups[fx.group as usize], "farmers");
    assert_eq!(facts.catalogs[fx.catalog as usize], "244-2022");
    let record = s.assessment_record(x_ids[1]).unwrap().unwrap();
    assert_eq!(fx.passed, record.passed);
    let fy = facts
        .assessments
        .iter()
        .find(|a| person_of(a.person) == y.to_string())
        .expect("Y's");
    assert_eq!((unit_of(fy.unit), fy.state), ("C2", ReviewState::Draft));

    // Each indicator's points are the server's score of it.
    let catalogs = cdht_core::embedded_catalogs().unwrap();
    let input = cdht_core::AssessmentInput {
        catalog: "244-2022".into(),
        group: "farmers".into(),
        area: cdht_core::AreaType::Difficult,
        answers: serde_json::from_str(&record.answers).unwrap(),
    };
    let scored =
        cdht_core::score_with(catalogs, &input, cdht_core::Completeness::Complete).unwrap();
    assert_eq!(scored.total, record.total);
    for indicator in &scored.indicators {
        let index = facts
            .indicators
            .iter()
            .position(|i| i == indicator.id.as_str())
            .expect("every indicator named");
        assert_eq!(
            i64::from(fx.points[index]),
            i64::from(indicator.points),
            "{}",
            indicator.id.as_str()
        );
    }

    let mut members: Vec<(String, &str)> = facts
        .members
        .iter()
        .map(|m| (person_of(m.person).to_owned(), unit_of(m.unit)))
        .collect();
    members.sort_unstable();
    let mut expected = vec![
        (x.to_string(), "C1"),
        (y.to_string(), "C2"),
        (z.to_string(), "C1"),
    ];
    expected.sort_unstable();
    assert_eq!(members, expected, "every person of the subtree");
    assert!(facts
        .members
        .iter()
        .all(|m| m.birth_year == Some(1960) && m.household.as_deref() == Some("Thôn Đông")));
    let x_index = facts
        .people
        .iter()
        .position(|p| *p == x.to_string())
        .unwrap();
    let earlier = facts
        .earlier_recognised
        .get(&u32::try_from(x_index).unwrap())
        .expect("X was recognised before");
    assert_eq!(earlier, &vec![2024]);
    assert_eq!(facts.earlier_recognised.len(), 1);
    assert!(facts.legacy.is_empty());

    let c2 = s.report_facts("C2", 2025).unwrap();
    assert_eq!(c2.units.len(), 1);
    assert_eq!((c2.assessments.len(), c2.members.len()), (1, 1));
    assert!(s.report_facts("D", 2023).unwrap().assessments.is_empty());
}
