#![allow(clippy::unwrap_used, clippy::float_cmp)]
//! The report's definitions on small hand-made facts.

use super::*;
use cdht_core::sync::ReviewState;

fn unit(code: &str, parent: Option<u32>) -> SubUnit {
    SubUnit {
        code: code.into(),
        name: format!("Đơn vị {code}"),
        parent,
    }
}

fn fact(
    person: u32,
    unit: u32,
    group: u32,
    state: ReviewState,
    passed: bool,
    p: [u8; 2],
) -> AssessmentFact {
    AssessmentFact {
        person,
        unit,
        group,
        catalog: 0,
        state,
        passed,
        points: {
            let mut points = [NO_POINTS; MAX_INDICATORS];
            points[0] = p[0];
            points[1] = p[1];
            points
        },
    }
}

fn member(person: u32, unit: u32, born: Option<u16>, home: Option<&str>) -> MemberFact {
    MemberFact {
        person,
        unit,
        birth_year: born,
        household: home.map(str::to_owned),
    }
}

/// X (0) → C1 (1) → T1 (3); X → C2 (2).
fn facts() -> ReportFacts {
    use ReviewState::*;
    ReportFacts {
        year: 2025,
        units: vec![
            unit("X", None),
            unit("C1", Some(0)),
            unit("C2", Some(0)),
            unit("T1", Some(1)),
        ],
        groups: vec!["farmers".into(), "workers".into()],
        catalogs: vec!["244-2022".into()],
        indicators: vec!["1.1".into(), "2.1".into()],
        people: (0..8).map(|i| format!("p{i}")).collect(),
        assessments: vec![
            fact(0, 1, 0, Draft, false, [0, 0]),
            fact(1, 1, 0, Submitted, true, [8, 6]),
            fact(2, 3, 0, Returned, false, [4, 8]),
            fact(3, 3, 1, Approved, true, [10, 4]),
            fact(4, 2, 1, Recognised, true, [8, 8]),
            fact(5, 2, 1, Recognised, true, [9, 3]),
            // The same person twice (two groups): one registered person.
            fact(6, 2, 0, Submitted, false, [2, 2]),
            fact(6, 2, 1, Draft, false, [0, 0]),
        ],
        members: vec![
            member(0, 1, Some(1960), Some("Hộ A")),
            member(1, 1, Some(2012), Some("Hộ A")),
            member(4, 2, None, Some("Hộ B")),
            member(5, 2, Some(1990), Some("Hộ B")),
            member(6, 2, Some(1980), None),
        ],
        earlier_recognised: [
            (4, vec![2021, 2022, 2023, 2024]),
            (5, vec![2022, 2023, 2024]),
        ]
        .into_iter()
        .collect(),
        legacy: Vec::new(),
    }
}

fn catalogs() -> Vec<cdht_core::Catalog> {
    cdht_core::embedded_catalogs().unwrap().to_vec()
}

#[test]
fn counts_follow_the_issue_definitions() {
    let r = compute(&facts(), &catalogs());
    let c = r.counts;
    assert_eq!(c.registered, 7, "distinct people, drafts included");
    assert_eq!(c.submitted, 6, "everything but drafts");
    assert_eq!(c.approved, 3, "approved or recognised");
    assert_eq!(c.returned, 1);
    assert_eq!(c.recognised, 2);
    assert_eq!(
        c.passed, 4,
        "sent in and passing; the approved-unsent draft never counts"
    );
    assert_eq!(c.pass_rate, 4.0 / 6.0);

    let farmers = &r.by_group[0];
    assert_eq!(farmers.group, "farmers");
    assert!(farmers.name.starts_with("Nông dân"), "{}", farmers.name);
    assert_eq!(
        (farmers.counts.registered, farmers.counts.submitted),
        (4, 3)
    );
    let workers = &r.by_group[1];
    assert_eq!(
        (workers.counts.registered, workers.counts.recognised),
        (4, 2)
    );

    // Direct children only; T1 counts under C1.
    let children: Vec<(&str, u64, u64)> = r
        .by_child
        .iter()
        .map(|c| (c.unit.as_str(), c.counts.registered, c.counts.submitted))
        .collect();
    assert_eq!(children, vec![("C1", 4, 3), ("C2", 3, 3)]);
}

#[test]
fn indicators_are_over_sent_in_assessments_weakest_first() {
    let r = compute(&facts(), &catalogs());
    // 1.1 over the six sent in: 8 4 10 8 9 2 → mean 41/6, below 5: 4 and 2.
    // 2.1: 6 8 4 8 3 2 → mean 31/6, below 5: 4 3 2.
    assert_eq!(r.indicators[0].id, "2.1", "weakest first");
    assert_eq!(r.indicators[0].mean_points, 31.0 / 6.0);
    assert_eq!(r.indicators[0].below_min_share, 3.0 / 6.0);
    assert_eq!(r.indicators[1].mean_points, 41.0 / 6.0);
    assert_eq!(r.indicators[1].below_min_share, 2.0 / 6.0);
    assert_eq!(r.indicators[1].assessments, 6);
}

#[test]
fn indicators_carry_the_title_of_the_group_most_sent_in() {
    let catalogs = catalogs();
    let title = |group: &str, id: &str| {
        catalogs[0]
            .groups
            .iter()
            .find(|g| g.id.as_str() == group)
            .and_then(|g| g.indicator(id))
            .unwrap()
            .title
            .clone()
    };
    let of = |r: &Report, id: &str| {
        r.indicators
            .iter()
            .find(|i| i.id == id)
            .unwrap()
            .title
            .clone()
    };
    // Three sent in each: the tie goes to the first group id (farmers).
    let r = compute(&facts(), &catalogs);
    assert_eq!(of(&r, "2.1"), title("farmers", "2.1"));
    assert_eq!(of(&r, "1.1"), title("farmers", "1.1"));
    assert_ne!(title("farmers", "2.1"), title("workers", "2.1"));
    assert!(!of(&r, "2.1").en.is_empty());
    // One more from workers: their wording.
    let mut more = facts();
    more.assessments
        .push(fact(7, 2, 1, ReviewState::Submitted, true, [8, 8]));
    let r = compute(&more, &catalogs);
    assert_eq!(of(&r, "2.1"), title("workers", "2.1"));
    // An indicator no catalog knows keeps its id.
    let mut unknown = facts();
    unknown.indicators[1] = "9.9".into();
    let r = compute(&unknown, &catalogs);
    assert_eq!(of(&r, "9.9").vi, "9.9");
}

#[test]
fn exemplary_members_households_and_progress() {
    let r = compute(&facts(), &catalogs());
    // p4: 2021–2025 recognised; p5 only 2022–2025.
    assert_eq!(r.exemplary.eligible, 1);
    assert_eq!(r.exemplary.persons[0].person, "p4");
    assert_eq!(r.exemplary.persons[0].streak, 5);
    assert_eq!(r.exemplary.persons[0].unit, "C2");

    // Members: C1 has p0 (adult) and p1 (13 years old); C2 has p4, p5, p6.
    let c2 = r.units.iter().find(|u| u.unit == "C2").unwrap();
    assert_eq!((c2.adults, c2.recognised), (3, 2));
    let x = r.units.iter().find(|u| u.unit == "X").unwrap();
    assert_eq!(
        (x.adults, x.recognised),
        (4, 2),
        "a unit counts its subtree"
    );
    assert!(!x.meets_learning_unit);

    let home_a = r.household_list.iter().find(|h| h.label == "Hộ A").unwrap();
    assert_eq!(
        (home_a.members, home_a.adults, home_a.recognised),
        (2, 1, 0)
    );
    let home_b = r.household_list.iter().find(|h| h.label == "Hộ B").unwrap();
    assert_eq!(
        (home_b.adults, home_b.recognised, home_b.share),
        (2, 2, 1.0)
    );
    assert_eq!(r.households.households, 2);
    assert_eq!(r.households.all_recognised, 1);

    // Registered adults: everyone but p1 (born 2012); p2, p3 are no members:
    // unknown birth year, adults. Recognised: p4, p5.
    assert_eq!(r.progress.adults_registered, 6);
    assert_eq!(r.progress.adults_recognised, 2);
    // Title holders' 2.1: p4 8, p5 3.
    assert_eq!(
        (r.progress.title_holders, r.progress.digital_skills),
        (2, 1)
    );
    assert_eq!(r.progress.digital_skills_share, 0.5);
}

#[test]
fn legacy_answers_are_scored() {
    let mut f = facts();
    f.assessments[1].points = [NO_POINTS; MAX_INDICATORS];
    f.legacy.push(LegacyAnswers {
        fact: 1,
        catalog: "244-2022".into(),
        group: "farmers".into(),
        answers: r#"{"1.1":7,"1.2":"a","1.3":7,"1.4":7,"2.1":9,"2.2":5,"2.3":9,"2.4":8,"3.1":10,"3.2":"b"}"#.into(),
    });
    score_legacy(&mut f, &catalogs());
    let points = &f.assessments[1].points;
    assert_eq!(points.iter().filter(|p| **p != NO_POINTS).count(), 10);
    let one_one = f.indicators.iter().position(|i| i == "1.1").unwrap();
    assert_eq!(points[one_one], 7);
    let two_one = f.indicators.iter().position(|i| i == "2.1").unwrap();
    assert_eq!(points[two_one], 9);
}

#[test]
fn the_json_leaves_the_household_list_out_and_counts_the_same() {
    let full = compute(&facts(), &catalogs());
    let short = compute_with(&facts(), &catalogs(), false);
    assert!(short.household_list.is_empty());
    assert_eq!(full.household_list.len(), 2);
    assert_eq!(short.households.households, full.households.households);
    assert_eq!(short.counts, full.counts);
}
