#![allow(clippy::unwrap_used)]
use cdht_core::catalog::Rules;
use cdht_core::exemplary_status;

const RULES: Rules = Rules {
    pass_threshold: 80,
    difficult_area_threshold: 70,
    min_indicator_points: 5,
    exemplary_consecutive_years: 5,
};

#[test]
fn five_consecutive_years_make_an_exemplary_citizen() {
    let s = exemplary_status(&[2022, 2023, 2024, 2025, 2026], 2026, &RULES);
    assert_eq!((s.streak, s.eligible, s.years_to_go), (5, true, 0));
}

#[test]
fn four_years_are_not_enough() {
    let s = exemplary_status(&[2023, 2024, 2025, 2026], 2026, &RULES);
    assert_eq!((s.streak, s.eligible, s.years_to_go), (4, false, 1));
}

#[test]
fn a_gap_resets_the_count() {
    // Six recognitions but 2024 is missing: the streak ending in 2027 is 3.
    let s = exemplary_status(&[2020, 2021, 2022, 2023, 2025, 2026, 2027], 2027, &RULES);
    assert_eq!((s.streak, s.eligible, s.years_to_go), (3, false, 2));
    // The streak ending 2023 was 4, not 5 either.
    assert!(!exemplary_status(&[2020, 2021, 2022, 2023, 2025], 2023, &RULES).eligible);
}

#[test]
fn a_year_not_recognised_has_no_streak_and_order_and_repeats_do_not_matter() {
    assert_eq!(
        exemplary_status(&[2021, 2022, 2023, 2024, 2025], 2026, &RULES).streak,
        0
    );
    let s = exemplary_status(&[2026, 2024, 2025, 2022, 2023, 2024], 2026, &RULES);
    assert_eq!((s.streak, s.eligible), (5, true));
    let s = exemplary_status(&[], 2026, &RULES);
    assert_eq!((s.streak, s.years_to_go), (0, 5));
}

#[test]
fn more_than_five_years_stay_exemplary() {
    let years: Vec<i32> = (2019..=2026).collect();
    let s = exemplary_status(&years, 2026, &RULES);
    assert_eq!((s.streak, s.eligible), (8, true));
    assert!(!exemplary_status(&years, i32::MIN, &RULES).eligible);
}

/// The streak makes a person eligible to be considered, never exemplary by
/// itself, and says the rule is provisional.
#[test]
fn a_streak_means_eligible_and_the_rule_is_provisional() {
    let s = exemplary_status(&[2021, 2022, 2023, 2024, 2025], 2025, &RULES);
    assert!(s.eligible);
    assert!(s.provisional);
}
