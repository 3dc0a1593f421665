#![allow(clippy::unwrap_used)]
//! Invariants of scoring over random answers, on every group of every catalog.

use cdht_core::assessment::{Answer, AreaType, AssessmentInput};
use cdht_core::ids::{IndicatorId, LevelId};
use cdht_core::{embedded_catalogs, score, Completeness};
use proptest::prelude::*;

/// A random assessment: a catalog group, an area, and for each indicator either
/// points or one of its levels.
fn assessment() -> impl Strategy<Value = AssessmentInput> {
    let catalogs = embedded_catalogs().unwrap();
    let pairs: Vec<(usize, usize)> = catalogs
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| (0..c.groups.len()).map(move |gi| (ci, gi)))
        .collect();
    (
        proptest::sample::select(pairs),
        any::<bool>(),
        proptest::collection::vec((0u32..=10, any::<bool>(), 0usize..8), 10),
    )
        .prop_map(move |((ci, gi), difficult, raw)| {
            let c = &catalogs[ci];
            let g = &c.groups[gi];
            let answers = g
                .indicators()
                .zip(raw)
                .map(|(ind, (points, by_level, li))| {
                    let answer = if by_level {
                        Answer::Level(ind.levels[li % ind.levels.len()].id.clone())
                    } else {
                        Answer::Points(i64::from(points.min(ind.max_points)))
                    };
                    (ind.id.clone(), answer)
                })
                .collect();
            AssessmentInput {
                catalog: c.id.clone(),
                group: g.id.clone(),
                area: if difficult {
                    AreaType::Difficult
                } else {
                    AreaType::Normal
                },
                answers,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn total_is_the_sum_of_indicators_and_of_competencies(a in assessment()) {
        let r = score(&a, Completeness::Complete).unwrap();
        prop_assert_eq!(r.total, r.indicators.iter().map(|i| i.points).sum::<u32>());
        prop_assert_eq!(r.total, r.competencies.iter().map(|c| c.points).sum::<u32>());
        prop_assert!(r.total <= r.max_total);
        prop_assert_eq!(r.passed, r.reasons.is_empty());
        prop_assert_eq!(
            r.passed,
            r.total >= r.threshold && r.indicators.iter().all(|i| i.points >= r.min_indicator_points)
        );
    }

    #[test]
    fn raising_any_indicator_never_turns_a_pass_into_a_fail(a in assessment(), which in 0usize..10, by in 1u32..=10) {
        let before = score(&a, Completeness::Complete).unwrap();
        let ind = &before.indicators[which];
        let raised = (ind.points + by).min(ind.max_points);
        let mut b = a.clone();
        b.answers.set(ind.id.clone(), Answer::Points(i64::from(raised)));
        let after = score(&b, Completeness::Complete).unwrap();
        prop_assert!(after.total >= before.total);
        prop_assert!(!before.passed || after.passed);
    }

    #[test]
    fn the_suggested_improvements_really_pass(a in assessment()) {
        let r = score(&a, Completeness::Complete).unwrap();
        if r.passed {
            prop_assert!(r.improvements.is_empty());
        } else {
            prop_assert!(!r.improvements.is_empty());
            let mut b = a.clone();
            for imp in &r.improvements {
                prop_assert!(imp.to > imp.from);
                let answer = match &imp.level {
                    Some(level) => Answer::Level(LevelId::clone(level)),
                    None => Answer::Points(i64::from(imp.to)),
                };
                b.answers.set(IndicatorId::clone(&imp.indicator), answer);
            }
            let after = score(&b, Completeness::Complete).unwrap();
            prop_assert!(after.passed, "{:?} then {:?}", r.improvements, after.reasons);
            // Nothing smaller works: dropping any one improvement fails again.
            for skip in 0..r.improvements.len() {
                let mut c = a.clone();
                for (k, imp) in r.improvements.iter().enumerate() {
                    if k != skip {
                        c.answers.set(imp.indicator.clone(), Answer::Points(i64::from(imp.to)));
                    }
                }
                prop_assert!(!score(&c, Completeness::Complete).unwrap().passed);
            }
        }
    }

    #[test]
    fn drafts_never_fail_to_score_and_agree_with_complete_ones(a in assessment(), keep in 0usize..=10) {
        let mut d = a.clone();
        d.answers.0.truncate(keep);
        let r = score(&d, Completeness::Draft).unwrap();
        prop_assert_eq!(r.unanswered.len(), 10 - keep);
        if keep == 10 {
            prop_assert_eq!(r, score(&a, Completeness::Complete).unwrap());
        } else {
            prop_assert!(!r.passed);
        }
    }
}
