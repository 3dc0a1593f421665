#![allow(clippy::unwrap_used)]
//! Indicator 2.2 (foreign language): no published source lets an ethnic
//! language, or Vietnamese for ethnic-minority speakers, count. The shipped
//! catalogs count it provisionally and say so in the level texts; an
//! operator can turn it off per server (`"options"` in a catalog file).

use cdht_core::catalog::{Catalog, Indicator};
use cdht_core::{embedded_catalogs, score_with, Answer, Answers, AreaType, AssessmentInput};
use serde_json::Value;

fn indicators_2_2(c: &Catalog) -> Vec<(&str, &Indicator)> {
    c.groups
        .iter()
        .map(|g| (g.id.as_str(), g.indicator("2.2").unwrap()))
        .collect()
}

fn mentions_other_language(text: &str) -> bool {
    text.contains("tiếng dân tộc") || text.contains("tiếng Việt")
}

fn indicator_texts(ind: &Indicator) -> Vec<&str> {
    let mut texts = vec![
        ind.title.vi.as_str(),
        ind.question.vi.as_str(),
        ind.evidence_hint.vi.as_str(),
    ];
    texts.extend(ind.levels.iter().map(|l| l.label.vi.as_str()));
    texts
}

fn keys_anywhere(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys_anywhere(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys_anywhere(v, out)),
        _ => {}
    }
}

fn switched_off(c: &Catalog) -> Catalog {
    let mut v = serde_json::to_value(c).unwrap();
    v["revision"] = (c.revision + 1).into();
    v["options"] = serde_json::json!({ "other_languages_count": false });
    Catalog::from_json("operator.json", &v.to_string()).unwrap()
}

/// Where another language may count, every level worth points says, in its
/// own text, that it counts only provisionally.
#[test]
fn every_level_that_lets_another_language_count_says_it_is_provisional() {
    let mut seen = 0;
    for c in embedded_catalogs().unwrap() {
        for (group, ind) in indicators_2_2(c) {
            if !indicator_texts(ind)
                .iter()
                .any(|t| mentions_other_language(t))
            {
                assert_eq!(group, "students", "{}: {group}", c.id);
                assert!(ind.foreign_only.is_none());
                continue;
            }
            seen += 1;
            assert!(ind.foreign_only.is_some(), "{} {group}", c.id);
            for level in ind.levels.iter().filter(|l| l.points > 0) {
                assert!(
                    level
                        .label
                        .vi
                        .contains("được tính tạm: chưa có văn bản quy định"),
                    "{} {group} {}: {}",
                    c.id,
                    level.id,
                    level.label.vi
                );
                assert!(
                    level.label.en.contains("counts provisionally"),
                    "{} {group} {}",
                    c.id,
                    level.id
                );
            }
        }
    }
    // 244: farmers, workers, officials; 324: residents, workers, officials.
    assert_eq!(seen, 6);
}

/// Turned off, 2.2 asks about and counts a foreign language only; the points
/// and every other indicator stay as they were.
#[test]
fn switched_off_the_indicator_counts_a_foreign_language_only() {
    for c in embedded_catalogs().unwrap() {
        let off = switched_off(c).for_devices();
        let on = c.for_devices();
        for ((group, ind_off), (_, ind_on)) in
            indicators_2_2(&off).into_iter().zip(indicators_2_2(&on))
        {
            for text in indicator_texts(ind_off) {
                assert!(!mentions_other_language(text), "{} {group}: {text}", c.id);
                assert!(!text.contains("tính tạm"), "{} {group}: {text}", c.id);
            }
            let points = |i: &Indicator| {
                i.levels
                    .iter()
                    .map(|l| (l.id.clone(), l.points))
                    .collect::<Vec<_>>()
            };
            assert_eq!(points(ind_off), points(ind_on));
        }
        let mut only_2_2_differs = 0;
        for (g_off, g_on) in off.groups.iter().zip(&on.groups) {
            for (i_off, i_on) in g_off.indicators().zip(g_on.indicators()) {
                if i_off != i_on {
                    assert_eq!(i_off.id.as_str(), "2.2");
                    only_2_2_differs += 1;
                }
            }
        }
        assert!(only_2_2_differs >= 3, "{}", c.id);
    }
    let c = &embedded_catalogs().unwrap()[0];
    let off = switched_off(c);
    let farmers = off.for_devices();
    let i22 = farmers.group("farmers").unwrap().indicator("2.2").unwrap();
    assert_eq!(i22.title.vi, "Biết ngoại ngữ khi cần");
    assert_eq!(i22.levels[3].label.vi, "Chưa biết và chưa học ngoại ngữ");

    // Scoring is the same either way: the option changes words, not points.
    let input = AssessmentInput {
        catalog: c.id.clone(),
        group: "farmers".into(),
        area: AreaType::Normal,
        answers: Answers(
            [
                "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
            ]
            .iter()
            .map(|i| (cdht_core::ids::IndicatorId::new(*i), Answer::Points(8)))
            .collect(),
        ),
    };
    let full = cdht_core::Completeness::Complete;
    assert_eq!(
        score_with(&[off.for_devices()], &input, full).unwrap(),
        score_with(&[c.for_devices()], &input, full).unwrap()
    );
}

/// Devices receive catalogs in the shape every released build reads (they
/// refuse unknown fields): neither `options` nor `foreign_only`.
#[test]
fn devices_receive_the_shape_released_builds_read() {
    for c in embedded_catalogs().unwrap() {
        for catalog in [c.for_devices(), switched_off(c).for_devices()] {
            let mut keys = Vec::new();
            keys_anywhere(&serde_json::to_value(&catalog).unwrap(), &mut keys);
            assert!(
                !keys.iter().any(|k| k == "options" || k == "foreign_only"),
                "{}",
                c.id
            );
        }
        // The file as shipped does carry the alternative wording.
        let mut keys = Vec::new();
        keys_anywhere(&serde_json::to_value(c).unwrap(), &mut keys);
        assert!(keys.iter().any(|k| k == "foreign_only"));
    }
    // What devices show is what they would receive.
    let merged = cdht_core::merge_catalogs(embedded_catalogs().unwrap(), &[]);
    assert!(merged.iter().all(|c| c
        .groups
        .iter()
        .all(|g| g.indicators().all(|i| i.foreign_only.is_none()))));
}

/// A misspelt option, or a label for a level that does not exist, is refused
/// with the place named.
#[test]
fn a_broken_option_is_refused() {
    let c = &embedded_catalogs().unwrap()[0];
    let mut v = serde_json::to_value(c).unwrap();
    v["options"] = serde_json::json!({ "other_language_count": false });
    let e = Catalog::from_json("op.json", &v.to_string()).unwrap_err();
    assert!(e.to_string().contains("other_language_count"), "{e}");

    let mut v = serde_json::to_value(c).unwrap();
    let ind = &mut v["groups"][0]["competencies"][1]["indicators"][1];
    assert_eq!(ind["id"], "2.2");
    ind["foreign_only"]["labels"]["z"] = serde_json::json!({"vi": "x", "en": "x"});
    let e = Catalog::from_json("op.json", &v.to_string()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("indicator 2.2") && text.contains("\"z\""),
        "{text}"
    );
}
